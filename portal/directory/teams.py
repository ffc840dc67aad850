"""Teams, manual memberships and team role grants: the admin pages and `flask teams` call these.

Every function checks first and writes after, so a refusal leaves nothing half-done and the
caller may commit the refusal's audit event. Each change is audited with before and after.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import audit
from portal.audit import Event
from portal.directory.roles import change_role, refuse_last_admin
from portal.directory.users import get_user
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import Account, Role, Team, TeamMembership, User

MAX_TEAM_NAME = 200


def list_teams(account: Account) -> list[Team]:
    """Every team of the account, by name, with roles and memberships loaded."""
    return list(db.session.scalars(
        select(Team).where(Team.account_id == account.id).order_by(Team.name_key)
        .options(selectinload(Team.roles), selectinload(Team.memberships))))


def member_count(team: Team) -> int:
    """Distinct users in team (someone in it both by hand and through SSO counts once)."""
    return len({m.user_id for m in team.memberships})


def get_team(account: Account, name: str) -> Team:
    """The account's team with this name (case-insensitive), or ServiceError listing the teams."""
    team = db.session.scalar(select(Team).where(Team.account_id == account.id, Team.name_key == Team.key(name)))
    if team is None:
        names = ", ".join(t.name for t in list_teams(account)) or "none yet"
        raise ServiceError(f"No team '{name}' in account '{account.domain}'. Teams: {names}.")
    return team


def _check_name(account: Account, name: str, except_id: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError("Enter a team name.")
    if len(name) > MAX_TEAM_NAME or len(Team.key(name)) > MAX_TEAM_NAME:  # lower-casing may lengthen it (İ → i̇)
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
    audit.record(account, Event.TEAM_CREATED, actor=actor, subject=team.name, team_id=team.id,
                 before=None, after={"name": team.name, "source": "manual"})
    return team


def rename_team(account: Account, team: Team, name: str, actor=None) -> Team:
    """Rename a manual team; an SSO team's name is its IdP group and cannot change here."""
    if team.source == "sso":
        raise ServiceError(f"'{team.name}' comes from the IdP group of that name; rename the group in your IdP "
                           "instead (the next logins then create a team with the new name).")
    old = team.name
    team.name = _check_name(account, name, except_id=team.id)
    audit.record(account, Event.TEAM_RENAMED, actor=actor, subject=team.name, team_id=team.id,
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
    refuse_last_admin(account, actor, "team.deleted", team.name, f"Deleting the team '{team.name}'",
                       without_team=team.id)
    audit.record(account, Event.TEAM_DELETED, actor=actor, subject=team.name, team_id=team.id,
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
    audit.record(account, Event.TEAM_MEMBERSHIP_ADDED, actor=actor, subject=user.email, team=team.name,
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
    refuse_last_admin(account, actor, "team.membership_removed", user.email,
                       f"Removing {user.email} from '{team.name}'", without_membership=(team.id, user.id, "manual"))
    before = _sources(team, user)
    team.memberships.remove(membership)
    db.session.flush()
    audit.record(account, Event.TEAM_MEMBERSHIP_REMOVED, actor=actor, subject=user.email, team=team.name,
                 team_id=team.id, source="manual", before={"memberships": before},
                 after={"memberships": _sources(team, user)})


def grant_role(account: Account, team: Team, role_name: str, actor=None) -> Role:
    """Grant a role to every member of team."""
    return change_role(account, team, role_name, True, actor)


def revoke_role(account: Account, team: Team, role_name: str, actor=None) -> Role:
    """Revoke a role from team."""
    return change_role(account, team, role_name, False, actor)


def _sources(team: Team, user: User) -> list[str]:
    return sorted(m.source for m in team.memberships if m.user_id == user.id)
