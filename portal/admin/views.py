"""Admin pages: teams and their roles, users and their roles, the audit log and its exports."""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user

from portal import audit, confirmation, sessions
from portal.inputs import MAX_ID, clamp
from portal.admin import confirmations as asks
from portal.admin import display
from portal.admin.actions import actor, apply, ask, grant_role, revoke_role
from portal.admin.forms import NO_ROLE, AuditFilterForm, MemberForm, RoleForm, TeamForm, UserCreateForm, UserSearchForm
from portal.auth.forms import ConfirmForm
from portal.audit import Event
from portal.audit import log as audit_log
from portal.directory import roles, teams, users
from portal.extensions import db
from portal.models import Team, User
from portal.permissions import MANAGE_TEAMS, MANAGE_USERS, VIEW_AUDIT_LOG, get_owned_or_404, require_permission

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.add_app_template_filter(display.breakable, "breakable")


# --- Teams --------------------------------------------------------------------------------------

@bp.route("/teams", methods=["GET", "POST"], endpoint="teams")
@require_permission(MANAGE_TEAMS)
def teams_page():
    form = TeamForm()
    if form.validate_on_submit():
        team = apply(lambda: teams.create_team(current_user.account, form.name.data, actor=actor()), form.name)
        if team:
            flash(f"Created the team '{team.name}'. Grant it a role so its members get permissions.", "success")
            return redirect(url_for("admin.team", team_id=team.id))
    account = current_user.account
    return render_template("admin/teams.html", teams=teams.list_teams(account), form=form,
                           member_count=teams.member_count, sso_config=account.sso_config), \
        422 if form.errors else 200


@bp.route("/teams/<int:team_id>", methods=["GET", "POST"])
@require_permission(MANAGE_TEAMS)
def team(team_id):
    """The team page; its forms post here with a hidden section field, so a refusal re-renders at this URL."""
    if request.method == "POST":
        return _section({"rename": rename_team, "member": add_member, "role": grant_team_role}, team_id=team_id)
    return _team_page(get_owned_or_404(Team, team_id))


def _section(handlers: dict[str, Callable], **ids):
    """Run the form handler named by the posted section field (an unknown one is a bad request)."""
    handler = handlers.get(request.form.get("section", ""))
    if handler is None:
        abort(400)
    return handler(**ids)


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
            lambda: teams.rename_team(current_user.account, team, form.name.data, actor=actor()), form.name):
        flash(f"Renamed the team to '{team.name}'.", "success:rename")
        return redirect(url_for("admin.team", team_id=team.id) + "#rename")
    return _team_page(team, 422, rename_form=form)


@bp.route("/teams/<int:team_id>/delete", methods=["GET", "POST"])
@require_permission(MANAGE_TEAMS)
def delete_team(team_id):
    team = get_owned_or_404(Team, team_id)
    back = url_for("admin.team", team_id=team.id)
    if not confirmation.confirmed():
        return ask(asks.delete_team(team), "Delete team", back)
    name = team.name
    if apply(lambda: teams.delete_team(current_user.account, team, actor=actor())):
        flash(f"Deleted the team '{name}'.", "success")
        return redirect(url_for("admin.teams"))
    return redirect(back)


@bp.post("/teams/<int:team_id>/members")
@require_permission(MANAGE_TEAMS)
def add_member(team_id):
    team = get_owned_or_404(Team, team_id)
    form = MemberForm(prefix="member")
    if form.validate_on_submit() and apply(
            lambda: teams.add_member(current_user.account, team, form.email.data, actor=actor()), form.email):
        flash(f"Added {form.email.data.strip().lower()} to '{team.name}'.", "success:members")
        return redirect(url_for("admin.team", team_id=team.id) + "#members")
    return _team_page(team, 422, member_form=form)


@bp.route("/teams/<int:team_id>/members/<int:user_id>/remove", methods=["GET", "POST"])
@require_permission(MANAGE_TEAMS)
def remove_member(team_id, user_id):
    team = get_owned_or_404(Team, team_id)
    user = get_owned_or_404(User, user_id)
    back = url_for("admin.team", team_id=team.id)
    if not confirmation.confirmed():
        return ask(asks.remove_member(team, user), "Remove member", back)
    if apply(lambda: teams.remove_member(current_user.account, team, user.email, actor=actor())):
        flash(f"Removed {user.email} from '{team.name}'.", "success")
    return redirect(back)


@bp.post("/teams/<int:team_id>/roles")
@require_permission(MANAGE_TEAMS)
def grant_team_role(team_id):
    team = get_owned_or_404(Team, team_id)
    return grant_role(teams, team, f"'{team.name}'", "; its members have it now", _team_page,
                       url_for("admin.team", team_id=team.id) + "#roles")


@bp.route("/teams/<int:team_id>/roles/<int:role_id>/revoke", methods=["GET", "POST"])
@require_permission(MANAGE_TEAMS)
def revoke_team_role(team_id, role_id):
    team = get_owned_or_404(Team, team_id)
    return revoke_role(teams, team, role_id, f"'{team.name}'", url_for("admin.team", team_id=team.id))


# --- Users --------------------------------------------------------------------------------------

USERS_PER_PAGE = 50


@bp.route("/users", methods=["GET", "POST"], endpoint="users")
@require_permission(MANAGE_USERS)
def users_page():
    """Users, searched by email or name and paged; the form creates one (as `flask users create` does)."""
    form = UserCreateForm().with_roles(roles.list_roles())
    if form.validate_on_submit():
        role = None if form.role.data == NO_ROLE else form.role.data
        user = apply(lambda: users.create_user(current_user.account, form.email.data, form.password.data or None,
                                               role=role, name=form.name.data or "", via="admin", actor=actor()),
                     form.email)
        if user:
            flash(f"Created the user {user.email}. They can log in "
                  f"{'with their password or SSO' if form.password.data else 'with SSO'}.", "success")
            return redirect(url_for("admin.user", user_id=user.id))
    search = UserSearchForm(formdata=request.args)
    query = search.q.data if search.validate() else ""
    page = clamp(max(request.args.get("page", 1, type=int), 1), MAX_ID // USERS_PER_PAGE)
    found, total = users.search_users(current_user.account, query or "", page, USERS_PER_PAGE)
    pages = max((total + USERS_PER_PAGE - 1) // USERS_PER_PAGE, 1)
    return render_template("admin/users.html", users=found, total=total, page=page, pages=pages, query=query,
                           search=search, form=form), 422 if form.errors else 200


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@require_permission(MANAGE_USERS)
def user(user_id):
    """The user page; its role form posts here (section field), so a refusal re-renders at this URL."""
    if request.method == "POST":
        return _section({"role": grant_user_role}, user_id=user_id)
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
    return grant_role(users, user, user.email, "", _user_page, url_for("admin.user", user_id=user.id) + "#roles")


@bp.route("/users/<int:user_id>/roles/<int:role_id>/revoke", methods=["GET", "POST"])
@require_permission(MANAGE_USERS)
def revoke_user_role(user_id, role_id):
    user = get_owned_or_404(User, user_id)
    return revoke_role(users, user, role_id, user.email, url_for("admin.user", user_id=user.id))


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
        return ask(asks.deactivate_user(user), "Deactivate user", back)
    if active and not ConfirmForm().validate_on_submit():  # reactivating takes nothing away: one click is fine
        return redirect(back)
    changed = apply(lambda: users.set_active(current_user.account, user, active, actor=actor()))
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
        return ask(asks.sign_out_user(user), "Sign out everywhere", url_for("admin.user", user_id=user.id))
    ended = apply(lambda: users.sign_out_everywhere(current_user.account, user, actor=actor()))
    if ended is not None:
        flash(f"Signed {user.email} out everywhere ({ended} session{'' if ended == 1 else 's'} ended).", "success")
    if user.id == current_user.id:
        return redirect(url_for("auth.login"))
    return redirect(url_for("admin.user", user_id=user.id))


@bp.route("/users/<int:user_id>/break-glass", methods=["GET", "POST"])
@require_permission(MANAGE_USERS)
def set_break_glass(user_id):
    user = get_owned_or_404(User, user_id)
    # The step carries the change it named, so a page left open never flips the mark the other way.
    on = (request.values.get("on") or ("0" if user.break_glass else "1")) == "1"
    back = url_for("admin.user", user_id=user.id) + "#break-glass"
    if not confirmation.confirmed():
        return ask((asks.break_glass_on if on else asks.break_glass_off)(user),
                   "Mark as break-glass admin" if on else "Unmark break-glass", back, on="1" if on else "0")
    if apply(lambda: users.set_break_glass(current_user.account, user, on, actor=actor())):
        flash(f"{user.email} is {'now' if on else 'no longer'} a break-glass admin.", "success")
    return redirect(url_for("admin.user", user_id=user.id) + "#break-glass")

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
        page = audit_log.page(account, filters, before=clamp(request.args.get("before", type=int)),
                              after=clamp(request.args.get("after", type=int)))
    return render_template("admin/audit.html", form=form, page=page, filters=filters,
                           event_types=audit_log.event_types(account), detail_lines=display.detail_lines)


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
    audit.record(account, Event.AUDIT_EXPORTED, actor=actor(), subject=account.domain, format=fmt,
                 filters=filters.as_args(), via="web")
    db.session.commit()
    body = (audit_log.export_csv if fmt == "csv" else audit_log.export_json)(account, filters, upto)
    response = Response(stream_with_context(body), mimetype="text/csv" if fmt == "csv" else "application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{account.domain}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response
