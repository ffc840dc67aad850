"""Users, teams and SCIM memberships as an IdP provisions them (Okta, Entra ID): the only SCIM writer.

Every function checks first and writes after, so a refusal (ProvisioningRefused: an HTTP status and a
SCIM scimType) leaves nothing written; each write flushes and records one audit event, and the caller
(portal/scim/views.py) commits once. Memberships written here have source "scim": SSO group sync and
manual memberships never touch them, and nothing here touches theirs. Nor does SCIM ever add or remove members of
a team holding a role with Account admin permissions: roles are never set through SCIM, so a token can never make
(or unmake) an admin.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import String, bindparam, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached

from portal import audit, sessions
from portal.audit import Event, Reason as AuditReason
from portal.directory.roles import account_admin_ids, default_role, grants_account_admin
from portal.directory.teams import MAX_TEAM_NAME
from portal.directory.users import check_email
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import Account, EmailDomain, Role, Team, TeamMembership, User, new_scim_id, user_roles, utcnow
from portal.models.sso import email_domain
from portal.permissions import ACCOUNT_ADMIN

SCIM = "scim"
USER_FIELDS = ("email", "external_id", "given_name", "family_name", "name", "active")
_members = TeamMembership.__table__
_users = User.__table__
_USER_COLUMNS = ("account_id", "email", "name", "password_hash", "active", "break_glass", "created_via", "created_at",
                 "last_login_at", "last_sso_login_at", "scim_id", "external_id", "given_name", "family_name",
                 "updated_at")
_account_id = bindparam("account_id", type_=_users.c.account_id.type)
# The user's INSERT unless another account has verified the email's domain, in one statement (one round trip, and
# no moment between the check and the write): no row back means the domain is someone else's.
_INSERT_USER = insert(_users).from_select(
    _USER_COLUMNS,
    select(*(_account_id if c == "account_id" else bindparam(c, type_=_users.c[c].type) for c in _USER_COLUMNS))
    .where(~EmailDomain.verified_elsewhere_clause(bindparam("email_domain", type_=String), _account_id)),
).returning(_users.c.id)
_INSERT_USER_ROLE = insert(user_roles)


class ProvisioningRefused(ServiceError):
    """A SCIM write refused: status (400, 404, 409) and scimType (RFC 7644 §3.12) say why."""

    def __init__(self, status: int, scim_type: str | None, message: str):
        super().__init__(message)
        self.status, self.scim_type = status, scim_type


MAX_EXTERNAL_ID = 255  # the externalId columns of users and teams


def check_external_id(value):
    """An externalId as given (None allowed), or 400 invalidValue past the column's length."""
    if isinstance(value, str) and len(value) > MAX_EXTERNAL_ID:
        raise ProvisioningRefused(400, "invalidValue", f"externalId is at most {MAX_EXTERNAL_ID} characters long.")
    return value


def _check_email(value) -> str:
    try:
        return check_email(value if isinstance(value, str) else "")
    except ServiceError as exc:
        raise ProvisioningRefused(400, "invalidValue", f"userName must be an email address: {exc}") from None


def _email_free(account: Account, email: str, except_id: int | None = None) -> None:
    owner = db.session.scalar(select(User.id).where(User.email == email))
    if owner is not None and owner != except_id:
        # The same answer whichever account holds it: nothing here tells which one.
        raise ProvisioningRefused(409, "uniqueness", f"userName {email} is already taken.")
    _domain_free(account, email)


def _domain_free(account: Account, email: str) -> None:
    if EmailDomain.verified_elsewhere(email, account.id):
        raise _domain_taken(email)


def _domain_taken(email: str) -> ProvisioningRefused:
    # Like SSO auto-create: another account proved this domain by DNS, its addresses are its own.
    return ProvisioningRefused(409, "uniqueness", f"userName {email} is at an email domain another account has "
                                                  f"verified.")


def create_user(account: Account, fields: dict, actor) -> User:
    """Create a user of account from SCIM fields (email required, unique across the portal)."""
    email = _check_email(fields.get("email"))
    check_external_id(fields.get("external_id"))
    now = utcnow()
    # Every column given (the same statement each time, compiled once), so the object below is the row as written.
    values = {"account_id": account.id, "email": email, "name": fields.get("name") or "", "password_hash": None,
              "active": fields.get("active", True) is not False, "break_glass": False, "created_via": SCIM,
              "created_at": now, "last_login_at": None, "last_sso_login_at": None, "scim_id": new_scim_id(),
              "external_id": fields.get("external_id"), "given_name": fields.get("given_name") or "",
              "family_name": fields.get("family_name") or "", "updated_at": now}
    role = default_role(account)
    connection = db.session.connection()
    # Core INSERTs, not the ORM's unit of work (a quarter of the push's CPU). No SELECT first either: the
    # unique index on email refuses a taken one (IntegrityError below), and the INSERT itself checks the domain.
    try:
        user_id = connection.execute(_INSERT_USER, {**values, "email_domain": email_domain(email)}).scalar()
    except IntegrityError:  # the email is taken (in any account); the caller rolls the request back
        raise ProvisioningRefused(409, "uniqueness", f"userName {email} is already taken.") from None
    if user_id is None:
        raise _domain_taken(email)
    if role is not None:
        connection.execute(_INSERT_USER_ROLE, {"user_id": user_id, "role_id": role.id})
    user = User(id=user_id, **values)
    make_transient_to_detached(user)
    db.session.add(user)  # persistent and clean: what is read from it later (roles, account) loads as usual
    audit.record(account, Event.SCIM_USER_CREATED, actor=actor, subject=email, scim_id=user.scim_id,
                 external_id=user.external_id, active=user.active, roles=[role.name] if role else [])
    return user


def update_user(account: Account, user: User, changes: dict, actor) -> bool:
    """Apply SCIM changes (a subset of USER_FIELDS) to a user of account; False when nothing changed.

    active False ends every session of the user on every server (their next request is refused);
    True lets them sign in again but never revives an ended session.
    """
    _own(account, user)
    changes = {k: v for k, v in changes.items() if k in USER_FIELDS}
    check_external_id(changes.get("external_id"))
    for key in ("given_name", "family_name", "name"):
        if key in changes:
            changes[key] = (changes[key] or "")[:200]
    if "email" in changes:
        changes["email"] = _check_email(changes["email"])
        if changes["email"] != user.email:
            _email_free(account, changes["email"], except_id=user.id)
    if "active" in changes:
        changes["active"] = bool(changes["active"])
    before = {k: getattr(user, k) for k in changes}
    diff = {k: {"old": before[k], "new": v} for k, v in changes.items() if before[k] != v}
    if not diff:
        return False
    warning = {}
    if diff.get("active", {}).get("new") is False:
        warning = _last_admin_warning(account, user_id=user.id)
    for key, change in diff.items():
        setattr(user, key, change["new"])
    user.updated_at = utcnow()
    ended = 0
    if "active" in diff and not user.active:
        ended = sessions.revoke_all(user.id)
    event = Event.SCIM_USER_UPDATED
    if "active" in diff:
        event = Event.SCIM_USER_REACTIVATED if user.active else Event.SCIM_USER_DEACTIVATED
    try:
        db.session.flush()
    except IntegrityError:
        raise ProvisioningRefused(409, "uniqueness", f"userName {user.email} is already taken.") from None
    audit.record(account, event, actor=actor, subject=user.email, scim_id=user.scim_id, changes=diff,
                 **({"sessions_ended": ended} if "active" in diff else {}), **warning)
    return True


def delete_user(account: Account, user: User, actor) -> None:
    """Remove a user of account (their sessions, memberships and grants go with them); the audit keeps the email."""
    _own(account, user)
    warning = _last_admin_warning(account, user_id=user.id)
    audit.record(account, Event.SCIM_USER_DELETED, actor=actor, subject=user.email, scim_id=user.scim_id,
                 external_id=user.external_id, sessions_ended=sessions.revoke_all(user.id), **warning)
    db.session.delete(user)
    db.session.flush()


def _last_admin_warning(account: Account, *, user_id: int) -> dict:
    """audit.record arguments marking a change that leaves the account without an active Account admin.

    SCIM is not refused there (the IdP decides who works here); an operator restores an admin with
    `flask users create --role "Account admin"`. Computed only when the user holds the role. (Teams need no
    warning: SCIM never changes the members of a team holding Account admin permissions.)
    """
    role = Role.by_name(ACCOUNT_ADMIN)
    if role is None:
        return {}
    user = db.session.get(User, user_id)
    if user is None or role not in user.effective_roles():
        return {}
    if account_admin_ids(account, without_user=user_id):
        return {}
    return {"outcome": "warning", "reason": AuditReason.LAST_ACCOUNT_ADMIN,
            "warning": "No active Account admin is left; restore one with flask users create --role 'Account admin'."}


def _own(account: Account, obj) -> None:
    if obj.account_id != account.id:  # views look objects up in the account; this guards other callers
        raise ProvisioningRefused(404, None, "Resource not found.")


# ---- groups (teams)

def _check_team_name(account: Account, name, except_id: int | None = None) -> tuple[str, Team | None]:
    name = " ".join((name if isinstance(name, str) else "").split())
    if not name:
        raise ProvisioningRefused(400, "invalidValue", "displayName is required.")
    if len(name) > MAX_TEAM_NAME or len(Team.key(name)) > MAX_TEAM_NAME:  # lower-casing may lengthen it (İ → i̇)
        raise ProvisioningRefused(400, "invalidValue", f"displayName is at most {MAX_TEAM_NAME} characters long.")
    clash = db.session.scalar(select(Team).where(Team.account_id == account.id, Team.name_key == Team.key(name)))
    if clash is not None and clash.id == except_id:
        clash = None
    return name, clash


def _refuse_admin_team_members(team: Team) -> None:
    """400 mutability when the team holds a role with Account admin permissions (every permission, whatever the
    role's name): SCIM adding members there would make admins, and roles are never set through SCIM."""
    held = next((r for r in team.roles if grants_account_admin(r.permissions)), None)
    if held is not None:
        raise ProvisioningRefused(400, "mutability", f"The team '{team.name}' holds the role {held.name}, which has "
                                                     f"Account admin permissions: SCIM never adds or removes its "
                                                     f"members. An admin grants that role; revoke it from the team "
                                                     f"to let SCIM manage its members.")


def user_ids(account: Account, scim_ids: Iterable[str], strict: bool = True) -> dict[str, int]:
    """Map SCIM user ids to user ids inside account; 400 invalidValue naming the first unknown one (if strict)."""
    wanted = list(dict.fromkeys(str(v) for v in scim_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start:start + 1000]
        found.update((tuple(r) for r in db.session.execute(select(User.scim_id, User.id).where(
            User.account_id == account.id, User.scim_id.in_(chunk)))))
    missing = [v for v in wanted if v not in found]
    if missing and strict:
        raise ProvisioningRefused(400, "invalidValue", f"members: no user with id {missing[0]!r} in this account.")
    return found


def create_group(account: Account, name, external_id: str | None, member_ids: list[int], actor) -> Team:
    """A pushed group: a new team, or the unlinked team of that name (case-insensitive) linked to SCIM."""
    name, clash = _check_team_name(account, name)
    check_external_id(external_id)
    if clash is not None and clash.scim_id is not None:
        raise ProvisioningRefused(409, "uniqueness", f"A group named '{clash.name}' already exists.")
    if clash is not None and member_ids:
        _refuse_admin_team_members(clash)  # linking it without members is fine: that makes nobody an admin
    now = utcnow()
    team = clash or Team(account_id=account.id, name=name, source=SCIM, created_at=now)
    team.scim_id, team.scim_external_id, team.updated_at = new_scim_id(), external_id, now
    db.session.add(team)
    db.session.flush()
    added = _add_members(account, team, member_ids)
    audit.record(account, Event.SCIM_GROUP_CREATED, actor=actor, subject=team.name, team_id=team.id,
                 scim_id=team.scim_id, external_id=external_id, linked_existing_team=clash is not None,
                 members_added=added)
    return team


def scim_member_ids(team: Team) -> set[int]:
    """User ids of the team's memberships of source scim."""
    return set(db.session.scalars(select(_members.c.user_id).where(
        _members.c.team_id == team.id, _members.c.source == SCIM)))


def update_group(account: Account, team: Team, actor, *, name=None, external_id=None, set_external_id=False,
                 add: Iterable[int] = (), remove: Iterable[int] = (), replace: Iterable[int] | None = None) -> bool:
    """Rename a SCIM group's team and change its scim memberships; False when nothing changed."""
    _own(account, team)
    changes: dict = {}
    if name is not None:
        name, clash = _check_team_name(account, name, except_id=team.id)
        if clash is not None:
            raise ProvisioningRefused(409, "uniqueness", f"A team named '{clash.name}' already exists.")
        if name != team.name:
            changes["displayName"] = {"old": team.name, "new": name}
    if set_external_id and check_external_id(external_id) != team.scim_external_id:
        changes["externalId"] = {"old": team.scim_external_id, "new": external_id}
    current = scim_member_ids(team)
    target = ((set(replace) if replace is not None else current) | set(add)) - set(remove)
    to_add, to_remove = sorted(target - current), sorted(current - target)
    if to_add or to_remove:
        _refuse_admin_team_members(team)  # checked on every change: the role may have been granted after linking
    if not changes and not to_add and not to_remove:
        return False
    if "displayName" in changes:
        team.name = name
    if "externalId" in changes:
        team.scim_external_id = external_id
    team.updated_at = utcnow()
    added = _add_members(account, team, to_add)
    for start in range(0, len(to_remove), 1000):
        db.session.execute(delete(_members).where(_members.c.team_id == team.id, _members.c.source == SCIM,
                                                  _members.c.user_id.in_(to_remove[start:start + 1000])))
    db.session.expire(team, ["memberships"])
    audit.record(account, Event.SCIM_GROUP_UPDATED, actor=actor, subject=team.name, team_id=team.id,
                 scim_id=team.scim_id, changes=changes, members_added=added, members_removed=len(to_remove))
    return True


def _add_members(account: Account, team: Team, user_ids_: Iterable[int]) -> int:
    rows = [{"team_id": team.id, "user_id": uid, "source": SCIM, "account_id": account.id} for uid in user_ids_]
    for start in range(0, len(rows), 1000):  # one INSERT per thousand: 5,000 members is five statements
        db.session.execute(insert(_members), rows[start:start + 1000])
    if rows:
        db.session.expire(team, ["memberships"])
    return len(rows)


def delete_group(account: Account, team: Team, actor) -> bool:
    """End the group's scim memberships; delete the team unless a role grant or other memberships hold it.

    Returns True when the team was deleted, False when it was kept (then unlinked from SCIM).
    """
    _own(account, team)
    if scim_member_ids(team):
        _refuse_admin_team_members(team)  # deleting the group would remove them
    removed = db.session.execute(delete(_members).where(_members.c.team_id == team.id,
                                                        _members.c.source == SCIM)).rowcount
    others = db.session.scalar(select(func.count()).select_from(_members).where(_members.c.team_id == team.id))
    kept = bool(others or team.roles)
    audit.record(account, Event.SCIM_GROUP_DELETED, actor=actor, subject=team.name, team_id=team.id,
                 scim_id=team.scim_id, members_removed=removed, team_kept=kept,
                 **({"kept_because": "role grants or other memberships"} if kept else {}))
    if kept:
        team.scim_id = team.scim_external_id = None
        team.updated_at = utcnow()
        db.session.expire(team, ["memberships"])
    else:
        db.session.delete(team)
    db.session.flush()
    return not kept
