"""Team and role admin pages (the users pages are in user_views.py, the audit log in audit_views.py)."""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from portal.admin import services
from portal.admin.forms import ConfirmForm, MemberForm, RoleForm, TeamForm
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import Role, Team, User
from portal.permissions import MANAGE_TEAMS, get_owned_or_403, require_permission

bp = Blueprint("admin", __name__, url_prefix="/admin")


def apply(action: Callable, field=None):
    """Run one service call and commit; a refusal becomes a field error or a flash, returns None.

    Admin services check before they write, so committing after a refusal only keeps its audit event.
    """
    try:
        result = action()
    except ServiceError as exc:
        db.session.commit()
        if field is not None:
            field.errors.append(str(exc))
        else:
            flash(str(exc), "error")
        return None
    db.session.commit()
    return result if result is not None else True


def get_role_or_404(role_id: int) -> Role:
    return db.get_or_404(Role, role_id)


@bp.route("/teams", methods=["GET", "POST"])
@require_permission(MANAGE_TEAMS)
def teams():
    form = TeamForm()
    if form.validate_on_submit():
        team = apply(lambda: services.create_team(current_user.account, form.name.data), form.name)
        if team:
            flash(f"Created the team '{team.name}'. Grant it a role so its members get permissions.", "success")
            return redirect(url_for("admin.team", team_id=team.id))
    account = current_user.account
    return render_template("admin/teams.html", teams=services.list_teams(account), form=form,
                           member_count=services.member_count, sso_config=account.sso_config), \
        400 if form.errors else 200


@bp.get("/teams/<int:team_id>")
@require_permission(MANAGE_TEAMS)
def team(team_id):
    return _team_page(get_owned_or_403(Team, team_id))


def _team_page(team: Team, status: int = 200, **forms):
    account = current_user.account
    forms.setdefault("rename_form", TeamForm(prefix="rename", data={"name": team.name}))
    forms.setdefault("member_form", MemberForm(prefix="member"))
    forms.setdefault("role_form", RoleForm(prefix="role").with_roles(services.list_roles(), team.roles))
    memberships = sorted(team.memberships, key=lambda m: (m.user.email, m.source))
    return render_template("admin/team.html", team=team, memberships=memberships, action=ConfirmForm(),
                           recreated=services.sso_team_recreated_by_login(account, team),
                           sso_config=account.sso_config, **forms), status


@bp.post("/teams/<int:team_id>/rename")
@require_permission(MANAGE_TEAMS)
def rename_team(team_id):
    team = get_owned_or_403(Team, team_id)
    form = TeamForm(prefix="rename")
    if form.validate_on_submit() and apply(lambda: services.rename_team(current_user.account, team, form.name.data),
                                           form.name):
        flash(f"Renamed the team to '{team.name}'.", "success")
        return redirect(url_for("admin.team", team_id=team.id))
    return _team_page(team, 400, rename_form=form)


@bp.post("/teams/<int:team_id>/delete")
@require_permission(MANAGE_TEAMS)
def delete_team(team_id):
    team = get_owned_or_403(Team, team_id)
    name = team.name
    if ConfirmForm().validate_on_submit() and apply(lambda: services.delete_team(current_user.account, team)):
        flash(f"Deleted the team '{name}'.", "success")
        return redirect(url_for("admin.teams"))
    return redirect(url_for("admin.team", team_id=team_id))


@bp.post("/teams/<int:team_id>/members")
@require_permission(MANAGE_TEAMS)
def add_member(team_id):
    team = get_owned_or_403(Team, team_id)
    form = MemberForm(prefix="member")
    if form.validate_on_submit() and apply(lambda: services.add_member(current_user.account, team, form.email.data),
                                           form.email):
        flash(f"Added {form.email.data.strip().lower()} to '{team.name}'.", "success")
        return redirect(url_for("admin.team", team_id=team.id))
    return _team_page(team, 400, member_form=form)


@bp.post("/teams/<int:team_id>/members/<int:user_id>/remove")
@require_permission(MANAGE_TEAMS)
def remove_member(team_id, user_id):
    team = get_owned_or_403(Team, team_id)
    user = get_owned_or_403(User, user_id)
    if ConfirmForm().validate_on_submit() and apply(
            lambda: services.remove_member(current_user.account, team, user.email)):
        flash(f"Removed {user.email} from '{team.name}'.", "success")
    return redirect(url_for("admin.team", team_id=team.id))


@bp.post("/teams/<int:team_id>/roles")
@require_permission(MANAGE_TEAMS)
def grant_team_role(team_id):
    team = get_owned_or_403(Team, team_id)
    form = RoleForm(prefix="role").with_roles(services.list_roles(), team.roles)
    if form.validate_on_submit() and apply(
            lambda: services.grant_team_role(current_user.account, team, form.role.data), form.role):
        flash(f"Granted {form.role.data} to '{team.name}'; its members have it now.", "success")
        return redirect(url_for("admin.team", team_id=team.id))
    return _team_page(team, 400, role_form=form)


@bp.post("/teams/<int:team_id>/roles/<int:role_id>/revoke")
@require_permission(MANAGE_TEAMS)
def revoke_team_role(team_id, role_id):
    team = get_owned_or_403(Team, team_id)
    role = get_role_or_404(role_id)
    if ConfirmForm().validate_on_submit() and apply(
            lambda: services.revoke_team_role(current_user.account, team, role.name)):
        flash(f"Revoked {role.name} from '{team.name}'.", "success")
    return redirect(url_for("admin.team", team_id=team.id))
