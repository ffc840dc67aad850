"""Users pages: how each user was created, last logins, teams, effective roles; direct roles; deactivation."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from portal.admin import services
from portal.admin.forms import ConfirmForm, RoleForm
from portal.admin.views import apply, bp, get_role_or_404
from portal.models import User
from portal.permissions import MANAGE_USERS, get_owned_or_403, require_permission


@bp.get("/users")
@require_permission(MANAGE_USERS)
def users():
    return render_template("admin/users.html", users=services.list_users(current_user.account))


@bp.get("/users/<int:user_id>")
@require_permission(MANAGE_USERS)
def user(user_id):
    return _user_page(get_owned_or_403(User, user_id))


def _user_page(user: User, status: int = 200, role_form: RoleForm | None = None):
    role_form = role_form or RoleForm(prefix="role").with_roles(services.list_roles(), user.roles)
    memberships = sorted(user.memberships, key=lambda m: (m.team.name_key, m.source))
    return render_template("admin/user.html", user=user, memberships=memberships, role_form=role_form,
                           action=ConfirmForm()), status


@bp.post("/users/<int:user_id>/roles")
@require_permission(MANAGE_USERS)
def grant_user_role(user_id):
    user = get_owned_or_403(User, user_id)
    form = RoleForm(prefix="role").with_roles(services.list_roles(), user.roles)
    if form.validate_on_submit() and apply(
            lambda: services.grant_user_role(current_user.account, user, form.role.data), form.role):
        flash(f"Granted {form.role.data} to {user.email}.", "success")
        return redirect(url_for("admin.user", user_id=user.id))
    return _user_page(user, 400, form)


@bp.post("/users/<int:user_id>/roles/<int:role_id>/revoke")
@require_permission(MANAGE_USERS)
def revoke_user_role(user_id, role_id):
    user = get_owned_or_403(User, user_id)
    role = get_role_or_404(role_id)
    if ConfirmForm().validate_on_submit() and apply(
            lambda: services.revoke_user_role(current_user.account, user, role.name)):
        flash(f"Revoked {role.name} from {user.email}.", "success")
    return redirect(url_for("admin.user", user_id=user.id))


@bp.post("/users/<int:user_id>/deactivate")
@require_permission(MANAGE_USERS)
def deactivate_user(user_id):
    return _set_active(get_owned_or_403(User, user_id), False)


@bp.post("/users/<int:user_id>/reactivate")
@require_permission(MANAGE_USERS)
def reactivate_user(user_id):
    return _set_active(get_owned_or_403(User, user_id), True)


def _set_active(user: User, active: bool):
    if ConfirmForm().validate_on_submit() and apply(
            lambda: services.set_user_active(current_user.account, user, active, actor=current_user)):
        flash(f"{'Reactivated' if active else 'Deactivated'} {user.email}"
              f"{'' if active else ': they can no longer log in, with a password or SSO'}.", "success")
    return redirect(url_for("admin.user", user_id=user.id))
