"""Team, membership and role admin shared by the admin pages and `flask teams`.

Every function checks first and writes after, so a refusal leaves nothing half-done and the
caller may commit the refusal's audit event. Each change is audited with before and after.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import audit
from portal.accounts import account_admin_ids, get_user, set_active
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import Account, Role, Team, TeamMembership, User
from portal.permissions import ACCOUNT_ADMIN

MAX_TEAM_NAME = 200
LAST_ADMIN = ("{who} would leave the account without an Account admin. Grant Account admin to another "
              "active user (directly or through a team) first.")


def list_teams(account: Account) -> list[Team]:
    """Every team of the account, by name, with roles and memberships loaded."""
    return list(db.session.scalars(
        select(Team).where(Team.account_id == account.id).order_by(Team.name_key)
        .options(selectinload(Team.roles), selectinload(Team.memberships))))


def member_count(team: Team) -> int:
    """Distinct users in team (someone in it both by hand and through SSO counts once)."""
    return len({m.user_id for m in team.memberships})


def list_users(account: Account) -> list[User]:
    """Every user of the account, by email, with roles and teams loaded."""
    return list(db.session.scalars(
        select(User).where(User.account_id == account.id).order_by(User.email)
        .options(selectinload(User.roles),
                 selectinload(User.memberships).selectinload(TeamMembership.team).selectinload(Team.roles))))


def list_roles() -> list[Role]:
    return list(db.session.scalars(select(Role).order_by(Role.id)))


def get_team(account: Account, name: str) -> Team:
    """The account's team with this name (case-insensitive), or ServiceError listing the teams."""
    team = db.session.scalar(select(Team).where(Team.account_id == account.id, Team.name_key == Team.key(name)))
    if team is None:
        names = ", ".join(t.name for t in list_teams(account)) or "none yet"
        raise ServiceError(f"No team '{name}' in account '{account.domain}'. Teams: {names}.")
    return team


def get_role(name: str) -> Role:
    """The role with this name (case-insensitive), or ServiceError listing the roles."""
    role = Role.by_name(name)
    if role is None:
        raise ServiceError(f"Unknown role '{name}'. Roles: {', '.join(r.name for r in list_roles())}.")
    return role


def _check_name(account: Account, name: str, except_id: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError("Enter a team name.")
    if len(name) > MAX_TEAM_NAME:
        raise ServiceError(f"A team name is at most {MAX_TEAM_NAME} characters long.")
    query = select(Team).where(Team.account_id == account.id, Team.name_key == Team.key(name))
    clash = db.session.scalar(query)
    if clash is not None and clash.id != except_id:
        raise ServiceError(f"The account already has a team named '{clash.name}' (team names ignore case).")
    return name


def create_team(account: Account, name: str, actor=None) -> Team:
    """Create a manual team (no roles, no members)."""
    name = _check_name(account, name)
    team = Team(account_id=account.id, name=name, source="manual")
    db.session.add(team)
    db.session.flush()
    audit.record(account, "team.created", actor=actor, subject=team.name, team_id=team.id,
                 before=None, after={"name": team.name, "source": "manual"})
    return team


def rename_team(account: Account, team: Team, name: str, actor=None) -> Team:
    """Rename a manual team; an SSO team's name is its IdP group and cannot change here."""
    if team.source == "sso":
        raise ServiceError(f"'{team.name}' comes from the IdP group of that name; rename the group in your IdP "
                           "instead (the next logins then create a team with the new name).")
    old = team.name
    team.name = _check_name(account, name, except_id=team.id)
    audit.record(account, "team.renamed", actor=actor, subject=team.name, team_id=team.id,
                 before={"name": old}, after={"name": team.name})
    return team


def sso_team_recreated_by_login(account: Account, team: Team) -> bool:
    """Whether deleting this SSO team is pointless: a member's next login would re-create it (without roles)."""
    config = account.sso_config
    return (team.source == "sso" and config is not None and config.auto_create_groups
            and any(m.source == "sso" for m in team.memberships))


def delete_team(account: Account, team: Team, actor=None) -> None:
    """Delete a team with its memberships and role grants."""
    if sso_team_recreated_by_login(account, team):
        raise ServiceError(
            f"'{team.name}' comes from an IdP group and Auto-create groups is on: the next login of one of its "
            "members would re-create it, without its roles. Unassign the group from the app in your IdP (or "
            "exclude it with the group filter) and wait for its members' next login, or turn Auto-create "
            "groups off, then delete it.")
    _refuse_last_admin(account, actor, "team.deleted", team.name, f"Deleting the team '{team.name}'",
                       without_team=team.id)
    audit.record(account, "team.deleted", actor=actor, subject=team.name, team_id=team.id,
                 before={"name": team.name, "source": team.source, "roles": [r.name for r in team.roles],
                         "members": sorted({m.user.email for m in team.memberships})}, after=None)
    db.session.delete(team)
    db.session.flush()


def add_member(account: Account, team: Team, email: str, actor=None) -> TeamMembership:
    """Add a user of the account to team by hand (a manual membership, never removed by SSO sync)."""
    user = get_user(account, email)
    if any(m.user_id == user.id and m.source == "manual" for m in team.memberships):
        raise ServiceError(f"{user.email} is already a member of '{team.name}' (added by hand).")
    before = _sources(team, user)
    membership = TeamMembership(team=team, user=user, account_id=account.id, source="manual")
    db.session.add(membership)
    db.session.flush()
    audit.record(account, "team.membership_added", actor=actor, subject=user.email, team=team.name,
                 team_id=team.id, source="manual", before={"memberships": before},
                 after={"memberships": _sources(team, user)})
    return membership


def remove_member(account: Account, team: Team, email: str, actor=None) -> None:
    """Remove a manual membership; SSO memberships follow the IdP and are not removed by hand."""
    user = get_user(account, email)
    membership = next((m for m in team.memberships if m.user_id == user.id and m.source == "manual"), None)
    if membership is None:
        if any(m.user_id == user.id for m in team.memberships):
            raise ServiceError(f"{user.email} is in '{team.name}' through the IdP group; remove them from the group "
                               "in your IdP and the membership ends at their next login.")
        raise ServiceError(f"{user.email} is not a member of '{team.name}'.")
    _refuse_last_admin(account, actor, "team.membership_removed", user.email,
                       f"Removing {user.email} from '{team.name}'", without_membership=(team.id, user.id, "manual"))
    before = _sources(team, user)
    team.memberships.remove(membership)
    db.session.flush()
    audit.record(account, "team.membership_removed", actor=actor, subject=user.email, team=team.name,
                 team_id=team.id, source="manual", before={"memberships": before},
                 after={"memberships": _sources(team, user)})


def grant_team_role(account: Account, team: Team, role_name: str, actor=None) -> Role:
    """Grant a role to every member of team."""
    role = get_role(role_name)
    if role in team.roles:
        raise ServiceError(f"'{team.name}' already has the role {role.name}.")
    _change_roles(account, team.roles, role, True, "team.role_granted", team.name, actor, team_id=team.id)
    return role


def revoke_team_role(account: Account, team: Team, role_name: str, actor=None) -> Role:
    """Revoke a role from team."""
    role = get_role(role_name)
    if role not in team.roles:
        raise ServiceError(f"'{team.name}' does not have the role {role.name}.")
    if role.name == ACCOUNT_ADMIN:
        _refuse_last_admin(account, actor, "team.role_revoked", team.name,
                           f"Revoking Account admin from the team '{team.name}'", without_team_role=team.id)
    _change_roles(account, team.roles, role, False, "team.role_revoked", team.name, actor, team_id=team.id)
    return role


def grant_user_role(account: Account, user: User, role_name: str, actor=None) -> Role:
    """Grant a role directly to a user of the account."""
    _own(account, user)
    role = get_role(role_name)
    if role in user.roles:
        raise ServiceError(f"{user.email} already has the role {role.name} directly.")
    _change_roles(account, user.roles, role, True, "user.role_granted", user.email, actor)
    return role


def revoke_user_role(account: Account, user: User, role_name: str, actor=None) -> Role:
    """Revoke a role granted directly to a user (roles from teams stay)."""
    _own(account, user)
    role = get_role(role_name)
    if role not in user.roles:
        raise ServiceError(f"{user.email} does not have the role {role.name} directly (roles that come from a "
                           "team are revoked on the team).")
    if role.name == ACCOUNT_ADMIN:
        _refuse_last_admin(account, actor, "user.role_revoked", user.email,
                           f"Revoking Account admin from {user.email}", without_user_role=user.id)
    _change_roles(account, user.roles, role, False, "user.role_revoked", user.email, actor)
    return role


def set_user_active(account: Account, user: User, active: bool, actor=None) -> None:
    """Deactivate or reactivate a user of the account (refuses to deactivate the last Account admin)."""
    _own(account, user)
    if user.active == active:
        raise ServiceError(f"{user.email} is already {'active' if active else 'deactivated'}.")
    if not active and actor is not None and actor.id == user.id:
        raise ServiceError("You cannot deactivate yourself; another admin of the account can.")
    set_active(user, active, actor=actor)


def _change_roles(account: Account, roles: list[Role], role: Role, grant: bool, event_type: str, subject: str,
                  actor, **details) -> None:
    """Grant or revoke role in a team's or user's role list, and audit the lists before and after."""
    before = [r.name for r in roles]
    if grant:
        roles.append(role)
    else:
        roles.remove(role)
    db.session.flush()
    audit.record(account, event_type, actor=actor, subject=subject, role=role.name, before={"roles": before},
                 after={"roles": [r.name for r in roles]}, **details)


def _own(account: Account, user: User) -> None:
    if user.account_id != account.id:  # views load through get_owned_or_403; this guards other callers
        raise ServiceError(f"{user.email} is not a user of account '{account.domain}'.")


def _sources(team: Team, user: User) -> list[str]:
    return sorted(m.source for m in team.memberships if m.user_id == user.id)


def _refuse_last_admin(account: Account, actor, event_type: str, subject: str, what: str, **without) -> None:
    """Refuse (and audit) a change that would leave the account with no active Account admin."""
    if account_admin_ids(account) and not account_admin_ids(account, **without):
        audit.record(account, event_type, outcome="failure", reason="last_account_admin", actor=actor,
                     subject=subject)
        raise ServiceError(LAST_ADMIN.format(who=what))

