"""Helpers of the admin views: run a service call, ask for confirmation, grant or revoke a role."""
from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect
from flask_login import current_user

from portal import confirmation
from portal.admin import confirmations as asks
from portal.admin.forms import RoleForm
from portal.directory import roles
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import Role, Team, User


def apply(action: Callable, field=None):
    """Run one service call and commit; a refusal becomes a field error or a flash, returns None.

    Directory services check before they write, so committing after a refusal only keeps its audit event.
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


def actor() -> User:
    """The signed-in admin, as the audit's actor."""
    return current_user._get_current_object()


def ask(question: tuple[str, list[str]], button: str, cancel: str, **hidden: str):
    """The confirmation step of an action (its GET, or a POST that skipped it)."""
    return confirmation.page(question[0], question[1], button, cancel, hidden=hidden)


def grant_role(service, holder: Team | User, label: str, note: str, page: Callable, back: str):
    """Grant the posted role to a team or a user; a refusal shows the holder's page with the error at the field."""
    form = RoleForm(prefix="role").with_roles(roles.list_roles(), holder.roles)
    if form.validate_on_submit() and apply(
            lambda: service.grant_role(current_user.account, holder, form.role.data, actor=actor()), form.role):
        flash(f"Granted {form.role.data} to {label}{note}.", "success:roles")
        return redirect(back)
    return page(holder, 422, role_form=form)


def revoke_role(service, holder: Team | User, role_id: int, label: str, back: str):
    """Revoke a role from a team or a user, after its confirmation step."""
    role = db.get_or_404(Role, role_id)
    if not confirmation.confirmed():
        return ask(asks.revoke_role(holder, role), "Revoke role", back)
    if apply(lambda: service.revoke_role(current_user.account, holder, role.name, actor=actor())):
        flash(f"Revoked {role.name} from {label}.", "success")
    return redirect(back)
