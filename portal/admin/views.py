"""Admin pages: teams and their roles, users and their roles, the audit log and its exports."""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user

from portal import audit, confirmation
from portal.admin import confirmations as asks
from portal.admin.forms import AuditFilterForm, MemberForm, RoleForm, TeamForm
from portal.auth.forms import ConfirmForm
from portal.audit import Event
from portal.audit import log as audit_log
from portal.auth import sessions
from portal.directory import roles, teams, users
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import Role, Team, User
from portal.permissions import MANAGE_TEAMS, MANAGE_USERS, VIEW_AUDIT_LOG, get_owned_or_404, require_permission

bp = Blueprint("admin", __name__, url_prefix="/admin")


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


def _actor() -> User:
    return current_user._get_current_object()


# --- Teams --------------------------------------------------------------------------------------

@bp.route("/teams", methods=["GET", "POST"], endpoint="teams")
@require_permission(MANAGE_TEAMS)
def teams_page():
    form = TeamForm()
    if form.validate_on_submit():
        team = apply(lambda: teams.create_team(current_user.account, form.name.data, actor=_actor()), form.name)
        if team:
            flash(f"Created the team '{team.name}'. Grant it a role so its members get permissions.", "success")
            return redirect(url_for("admin.team", team_id=team.id))
    account = current_user.account
    return render_template("admin/teams.html", teams=teams.list_teams(account), form=form,
                           member_count=teams.member_count, sso_config=account.sso_config), \
        400 if form.errors else 200


@bp.get("/teams/<int:team_id>")
@require_permission(MANAGE_TEAMS)
def team(team_id):
    return _team_page(get_owned_or_404(Team, team_id))


def _team_page(team: Team, status: int = 200, **forms):
    account = current_user.account
    forms.setdefault("rename_form", TeamForm(prefix="rename", data={"name": team.name}))
    forms.setdefault("member_form", MemberForm(prefix="member"))
    forms.setdefault("role_form", RoleForm(prefix="role").with_roles(roles.list_roles(), team.roles))
    memberships = sorted(team.memberships, key=lambda m: (m.user.email, m.source))
    return render_template("admin/team.html", team=team, memberships=memberships, action=ConfirmForm(),
                           recreated=teams.sso_team_recreated_by_login(account, team),
                           sso_config=account.sso_config, **forms), status


@bp.post("/teams/<int:team_id>/rename")
@require_permission(MANAGE_TEAMS)
def rename_team(team_id):
    team = get_owned_or_404(Team, team_id)
    form = TeamForm(prefix="rename")
    if form.validate_on_submit() and apply(
            lambda: teams.rename_team(current_user.account, team, form.name.data, actor=_actor()), form.name):
        flash(f"Renamed the team to '{team.name}'.", "success")
        return redirect(url_for("admin.team", team_id=team.id))
    return _team_page(team, 400, rename_form=form)


@bp.route("/teams/<int:team_id>/delete", methods=["GET", "POST"])
@require_permission(MANAGE_TEAMS)
def delete_team(team_id):
    team = get_owned_or_404(Team, team_id)
    back = url_for("admin.team", team_id=team.id)
    if not confirmation.confirmed():
        return _ask(asks.delete_team(team), "Delete team", back)
    name = team.name
    if apply(lambda: teams.delete_team(current_user.account, team, actor=_actor())):
        flash(f"Deleted the team '{name}'.", "success")
        return redirect(url_for("admin.teams"))
    return redirect(back)


def _ask(question: tuple[str, list[str]], button: str, cancel: str):
    """The confirmation step of an action (its GET, or a POST that skipped it)."""
    return confirmation.page(question[0], question[1], button, cancel)


@bp.post("/teams/<int:team_id>/members")
@require_permission(MANAGE_TEAMS)
def add_member(team_id):
    team = get_owned_or_404(Team, team_id)
    form = MemberForm(prefix="member")
    if form.validate_on_submit() and apply(
            lambda: teams.add_member(current_user.account, team, form.email.data, actor=_actor()), form.email):
        flash(f"Added {form.email.data.strip().lower()} to '{team.name}'.", "success")
        return redirect(url_for("admin.team", team_id=team.id))
    return _team_page(team, 400, member_form=form)


@bp.route("/teams/<int:team_id>/members/<int:user_id>/remove", methods=["GET", "POST"])
@require_permission(MANAGE_TEAMS)
def remove_member(team_id, user_id):
    team = get_owned_or_404(Team, team_id)
    user = get_owned_or_404(User, user_id)
    back = url_for("admin.team", team_id=team.id)
    if not confirmation.confirmed():
        return _ask(asks.remove_member(team, user), "Remove member", back)
    if apply(lambda: teams.remove_member(current_user.account, team, user.email, actor=_actor())):
        flash(f"Removed {user.email} from '{team.name}'.", "success")
    return redirect(back)


@bp.post("/teams/<int:team_id>/roles")
@require_permission(MANAGE_TEAMS)
def grant_team_role(team_id):
    team = get_owned_or_404(Team, team_id)
    return _grant_role(teams, team, f"'{team.name}'", "; its members have it now", _team_page,
                       url_for("admin.team", team_id=team.id))


@bp.route("/teams/<int:team_id>/roles/<int:role_id>/revoke", methods=["GET", "POST"])
@require_permission(MANAGE_TEAMS)
def revoke_team_role(team_id, role_id):
    team = get_owned_or_404(Team, team_id)
    return _revoke_role(teams, team, role_id, f"'{team.name}'", url_for("admin.team", team_id=team.id))


# --- Users --------------------------------------------------------------------------------------

@bp.get("/users", endpoint="users")
@require_permission(MANAGE_USERS)
def users_page():
    return render_template("admin/users.html", users=users.list_users(current_user.account))


@bp.get("/users/<int:user_id>")
@require_permission(MANAGE_USERS)
def user(user_id):
    return _user_page(get_owned_or_404(User, user_id))


def _user_page(user: User, status: int = 200, role_form: RoleForm | None = None):
    role_form = role_form or RoleForm(prefix="role").with_roles(roles.list_roles(), user.roles)
    memberships = sorted(user.memberships, key=lambda m: (m.team.name_key, m.source))
    return render_template("admin/user.html", user=user, memberships=memberships, role_form=role_form,
                           action=ConfirmForm(), sessions=sessions.list_for(user.id),
                           is_admin=user.id in roles.account_admin_ids(current_user.account)), status


@bp.post("/users/<int:user_id>/roles")
@require_permission(MANAGE_USERS)
def grant_user_role(user_id):
    user = get_owned_or_404(User, user_id)
    return _grant_role(users, user, user.email, "", _user_page, url_for("admin.user", user_id=user.id))


@bp.route("/users/<int:user_id>/roles/<int:role_id>/revoke", methods=["GET", "POST"])
@require_permission(MANAGE_USERS)
def revoke_user_role(user_id, role_id):
    user = get_owned_or_404(User, user_id)
    return _revoke_role(users, user, role_id, user.email, url_for("admin.user", user_id=user.id))


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
@require_permission(MANAGE_USERS)
def deactivate_user(user_id):
    return _set_active(get_owned_or_404(User, user_id), False)


@bp.post("/users/<int:user_id>/reactivate")
@require_permission(MANAGE_USERS)
def reactivate_user(user_id):
    return _set_active(get_owned_or_404(User, user_id), True)


def _set_active(user: User, active: bool):
    back = url_for("admin.user", user_id=user.id)
    if not active and not confirmation.confirmed():
        return _ask(asks.deactivate_user(user), "Deactivate user", back)
    if active and not ConfirmForm().validate_on_submit():  # reactivating takes nothing away: one click is fine
        return redirect(back)
    changed = apply(lambda: users.set_active(current_user.account, user, active, actor=_actor()))
    if changed is True:
        flash(f"{'Reactivated' if active else 'Deactivated'} {user.email}"
              f"{'' if active else ': they can no longer log in, with a password or SSO'}.", "success")
    elif changed is not None:
        flash(f"{user.email} is already {'active' if active else 'deactivated'}.", "info")
    return redirect(back)


@bp.route("/users/<int:user_id>/sign-out", methods=["GET", "POST"])
@require_permission(MANAGE_USERS)
def sign_out_user(user_id):
    user = get_owned_or_404(User, user_id)
    if not confirmation.confirmed():
        return _ask(asks.sign_out_user(user), "Sign out everywhere", url_for("admin.user", user_id=user.id))
    ended = apply(lambda: users.sign_out_everywhere(current_user.account, user, actor=_actor()))
    if ended is not None:
        flash(f"Signed {user.email} out everywhere ({ended} session{'' if ended == 1 else 's'} ended).", "success")
    if user.id == current_user.id:
        return redirect(url_for("auth.login"))
    return redirect(url_for("admin.user", user_id=user.id))


@bp.route("/users/<int:user_id>/break-glass", methods=["GET", "POST"])
@require_permission(MANAGE_USERS)
def set_break_glass(user_id):
    user = get_owned_or_404(User, user_id)
    on = not user.break_glass  # the step names the change it makes
    back = url_for("admin.user", user_id=user.id) + "#break-glass"
    if not confirmation.confirmed():
        return _ask((asks.break_glass_on if on else asks.break_glass_off)(user),
                    "Mark as break-glass admin" if on else "Unmark break-glass", back)
    if apply(lambda: users.set_break_glass(current_user.account, user, on, actor=_actor())):
        flash(f"{user.email} is {'now' if on else 'no longer'} a break-glass admin.", "success")
    return redirect(back)


# --- Role grants, the same for a team and a user -------------------------------------------------

def _grant_role(service, holder: Team | User, label: str, note: str, page: Callable, back: str):
    form = RoleForm(prefix="role").with_roles(roles.list_roles(), holder.roles)
    if form.validate_on_submit() and apply(
            lambda: service.grant_role(current_user.account, holder, form.role.data, actor=_actor()), form.role):
        flash(f"Granted {form.role.data} to {label}{note}.", "success")
        return redirect(back)
    return page(holder, 400, role_form=form)


def _revoke_role(service, holder: Team | User, role_id: int, label: str, back: str):
    role = db.get_or_404(Role, role_id)
    if not confirmation.confirmed():
        return _ask(asks.revoke_role(holder, role), "Revoke role", back)
    if apply(lambda: service.revoke_role(current_user.account, holder, role.name, actor=_actor())):
        flash(f"Revoked {role.name} from {label}.", "success")
    return redirect(back)


# --- Audit log ----------------------------------------------------------------------------------

@bp.get("/audit", endpoint="audit")
@require_permission(VIEW_AUDIT_LOG)
def audit_page():
    """The account's audit events, newest first, filtered, one keyset page at a time."""
    form = AuditFilterForm(formdata=request.args)
    account = current_user.account
    page = filters = None
    if form.validate():
        filters = form.filters()
        page = audit_log.page(account, filters, before=request.args.get("before", type=int),
                              after=request.args.get("after", type=int))
    return render_template("admin/audit.html", form=form, page=page, filters=filters,
                           event_types=audit_log.event_types(account), compact=audit_log.compact_json)


@bp.get("/audit/export.csv")
@require_permission(VIEW_AUDIT_LOG)
def audit_export_csv():
    """The filtered audit log as a CSV download, streamed."""
    return _export("csv")


@bp.get("/audit/export.json")
@require_permission(VIEW_AUDIT_LOG)
def audit_export_json():
    """The filtered audit log as a JSON array download, streamed."""
    return _export("json")


def _export(fmt: str) -> Response:
    account = current_user.account
    form = AuditFilterForm(formdata=request.args)
    if not form.validate():
        abort(400, "; ".join(e for errors in form.errors.values() for e in errors))
    filters = form.filters()
    # Snapshot bound: events arriving during the download (this export's own event too) are left out.
    upto = audit_log.latest_id(account) or 0
    audit.record(account, Event.AUDIT_EXPORTED, actor=_actor(), subject=account.domain, format=fmt,
                 filters=filters.as_args(), via="web")
    db.session.commit()
    body = (audit_log.export_csv if fmt == "csv" else audit_log.export_json)(account, filters, upto)
    response = Response(stream_with_context(body), mimetype="text/csv" if fmt == "csv" else "application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{account.domain}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response
