"""Roles: look-ups, granting and revoking on a user or team, and the last-Account-admin guard."""
from __future__ import annotations

from sqlalchemy import select

from portal import audit
from portal.audit import Event, Reason as AuditReason
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import Account, Role, Team, User
from portal.permissions import ACCOUNT_ADMIN, PERMISSIONS

LAST_ADMIN = ("{who} would leave the account without an Account admin. Grant Account admin to another "
              "active user (directly or through a team) first.")


def list_roles() -> list[Role]:
    """Every predefined role, in their fixed order."""
    return list(db.session.scalars(select(Role).order_by(Role.id)))


def get_role(name: str) -> Role:
    """The role with this name (case-insensitive), or ServiceError listing the roles."""
    role = Role.by_name(name)
    if role is None:
        raise ServiceError(f"Unknown role '{name}'. Roles: {', '.join(r.name for r in list_roles())}.")
    return role


def change_role(account: Account, holder: Team | User, role_name: str, grant: bool, actor) -> Role:
    """Grant or revoke role_name on a team or directly on a user of account; audits before and after."""
    role = get_role(role_name)
    is_team = isinstance(holder, Team)
    name = f"'{holder.name}'" if is_team else holder.email
    if grant and role in holder.roles:
        raise ServiceError(f"{name} already has the role {role.name}{'' if is_team else ' directly'}.")
    if not grant and role not in holder.roles:
        raise ServiceError(f"{name} does not have the role {role.name}" + (
            "." if is_team else " directly (roles that come from a team are revoked on the team)."))
    event = ((Event.TEAM_ROLE_GRANTED, Event.TEAM_ROLE_REVOKED) if is_team
             else (Event.USER_ROLE_GRANTED, Event.USER_ROLE_REVOKED))[0 if grant else 1]
    subject = holder.name if is_team else holder.email
    if not grant and role.name == ACCOUNT_ADMIN:
        without = {"without_team_role": holder.id} if is_team else {"without_user_role": holder.id}
        what = f"Revoking Account admin from the team '{holder.name}'" if is_team else \
            f"Revoking Account admin from {holder.email}"
        refuse_last_admin(account, actor, event, subject, what, **without)
    before = [r.name for r in holder.roles]
    if grant:
        holder.roles.append(role)
    else:
        holder.roles.remove(role)
    db.session.flush()
    audit.record(account, event, actor=actor, subject=subject, role=role.name, before={"roles": before},
                 after={"roles": [r.name for r in holder.roles]}, **({"team_id": holder.id} if is_team else {}))
    return role


def account_admin_ids(account: Account, *, without_user: int | None = None,
                      without_user_role: int | None = None, without_team_role: int | None = None,
                      without_team: int | None = None, without_membership: tuple | None = None) -> set[int]:
    """Ids of the account's active users holding Account admin, optionally as if one grant were gone.

    The without_* arguments describe a change an admin is about to make (deactivate a user, revoke
    the role from a user or team, delete a team, remove one (team_id, user_id, source) membership),
    so the change can be refused before anything is written.
    """
    role = Role.by_name(ACCOUNT_ADMIN)
    if role is None:
        return set()
    users = {u.id: u for u in db.session.scalars(
        select(User).where(User.account_id == account.id, User.active.is_(True)))}
    users.pop(without_user, None)
    admins = {uid for uid, u in users.items() if uid != without_user_role and role in u.roles}
    teams = db.session.scalars(select(Team).where(Team.account_id == account.id, Team.roles.any(Role.id == role.id)))
    for team in teams:
        if team.id in (without_team_role, without_team):
            continue
        admins.update(m.user_id for m in team.memberships
                      if m.user_id in users and (m.team_id, m.user_id, m.source) != without_membership)
    return admins


def refuse_last_admin(account: Account, actor, event_type: str, subject: str, what: str, **without) -> None:
    """Refuse (and audit) a change that would leave the account with no active Account admin."""
    if account_admin_ids(account) and not account_admin_ids(account, **without):
        audit.record(account, event_type, outcome="failure", reason=AuditReason.LAST_ACCOUNT_ADMIN, actor=actor,
                     subject=subject)
        raise ServiceError(LAST_ADMIN.format(who=what))


def grants_account_admin(permissions) -> bool:
    """Whether a role with these permissions is an admin's, whatever its name: it holds every permission."""
    return set(PERMISSIONS) <= set(permissions or ())


def default_role(account: Account) -> Role | None:
    """The role granted to people created by SCIM or SSO auto-create (None unless an admin chose one).

    Never one with Account admin permissions (set_default_role refuses it; a row from before that rule is
    ignored): what the IdP creates must never be an admin by itself.
    """
    role = db.session.get(Role, account.default_role_id) if account.default_role_id else None
    return None if role is None or grants_account_admin(role.permissions) else role


def set_default_role(account: Account, role_name: str | None, actor) -> bool:
    """Set (or clear, with None) the account's default role for new people; audited. False when unchanged."""
    role = get_role(role_name) if role_name else None
    if role is not None and grants_account_admin(role.permissions):
        raise ServiceError(f"The role {role.name} has Account admin permissions, so it cannot be the default role "
                           "for new people: everyone your IdP creates would be an admin. Choose another role, and "
                           "grant Account admin to a team or person on the Teams and Users pages.")
    before = default_role(account)
    if (before.id if before else None) == (role.id if role else None):
        return False
    account.default_role_id = role.id if role else None
    db.session.flush()
    audit.record(account, Event.ACCOUNT_DEFAULT_ROLE_CHANGED, actor=actor, subject=account.domain,
                 before=before.name if before else None, after=role.name if role else None)
    return True
