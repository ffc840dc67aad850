"""Users of an account: create, look up, list, activate and deactivate, direct role grants."""
from __future__ import annotations

from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal import audit, sessions
from portal.audit import Event, Reason as AuditReason
from portal.directory.roles import account_admin_ids, change_role, get_role
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import Account, EmailDomain, Role, Team, TeamMembership, User, normalise_email

MIN_PASSWORD = 8


def check_email(value: str) -> str:
    """The normalised email, or ServiceError saying why it is not one."""
    email = normalise_email(value)
    try:
        valid = validate_email(email, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ServiceError(f"'{value}' is not a valid email address: {exc}") from None
    local, domain = email.rsplit("@", 1)
    if domain != valid.ascii_domain:
        # One address, one spelling: ｇｌｏｂｅｘ.test and bücher.test are globex.test and xn--bcher-kva.test in
        # DNS, where email domains are verified; stored as typed, they would slip past another account's
        # verified domain and let one mailbox exist twice.
        raise ServiceError(f"Write the email's domain in its ASCII (DNS) form: {local}@{valid.ascii_domain}.")
    return email


def check_password(password: str | None) -> None:
    """ServiceError when a password is given but too short."""
    if password is not None and len(password) < MIN_PASSWORD:
        raise ServiceError(f"The password must be at least {MIN_PASSWORD} characters long.")


def create_user(account: Account, email: str, password: str | None = None, role: str | None = None,
                name: str = "", via: str = "cli", actor=None) -> User:
    """Create a user in account; the email must be free across the whole portal."""
    email = check_email(email)
    check_password(password)
    role_obj = get_role(role) if role else None
    if User.by_email(email) is not None:
        raise ServiceError(f"The email {email} is already used by a user (emails are unique across the portal).")
    if EmailDomain.verified_elsewhere(email, account.id):
        # Email squatting: a user created here would keep the verifying account from ever having this person.
        domain = email.rsplit("@", 1)[-1]
        raise ServiceError(f"{domain} is an email domain another account has verified in DNS: only that account "
                           f"can create users at it. Use an address at one of your own email domains.")
    user = User(account=account, email=email, name=(name or "").strip(), created_via=via)
    if password:
        user.set_password(password)
    if role_obj:
        user.roles.append(role_obj)
    try:
        with db.session.begin_nested():  # a concurrent create of the same email: undo only this insert
            db.session.add(user)
    except IntegrityError:
        raise ServiceError(f"The email {email} is already used by a user.") from None
    audit.record(account, Event.USER_CREATED, actor=actor, subject=email, created_via=via,
                 roles=[role_obj.name] if role_obj else [])
    return user


def get_user(account: Account, email: str) -> User:
    """The user with this email inside account, or ServiceError."""
    user = User.by_email(email)
    if user is None or user.account_id != account.id:
        raise ServiceError(f"No user {normalise_email(email)} in account '{account.domain}'.")
    return user


def list_users(account: Account) -> list[User]:
    """Every user of the account, by email, with roles and teams loaded."""
    return list(db.session.scalars(
        select(User).where(User.account_id == account.id).order_by(User.email)
        .options(selectinload(User.roles),
                 selectinload(User.memberships).selectinload(TeamMembership.team).selectinload(Team.roles))))


def search_users(account: Account, query: str = "", page: int = 1, per_page: int = 50) -> tuple[list[User], int]:
    """One page of account's users by email whose email or name contains query (any case), and how many match."""
    conds = [User.account_id == account.id]
    text = (query or "").strip().lower()
    if text:
        # The admin's text is matched literally: LIKE's own wildcards in it are escaped.
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds.append(or_(User.email.like(pattern, escape="\\"), func.lower(User.name).like(pattern, escape="\\")))
    total = db.session.scalar(select(func.count()).select_from(User).where(*conds)) or 0
    rows = db.session.scalars(
        select(User).where(*conds).order_by(User.email).offset((max(page, 1) - 1) * per_page).limit(per_page)
        .options(selectinload(User.roles),
                 selectinload(User.memberships).selectinload(TeamMembership.team).selectinload(Team.roles)))
    return list(rows), total


def set_active(account: Account, user: User, active: bool, actor=None) -> bool:
    """Deactivate or reactivate a user of account; False when it already was. A deactivated user cannot log in."""
    _own(account, user)
    if user.active == active:
        return False
    if not active and actor is not None and actor.id == user.id:
        raise ServiceError("You cannot deactivate yourself; another admin of the account can.")
    if not active and user.id in account_admin_ids(account) and not account_admin_ids(account, without_user=user.id):
        audit.record(account, Event.USER_DEACTIVATED, outcome="failure", reason=AuditReason.LAST_ACCOUNT_ADMIN,
                     actor=actor, subject=user.email)
        raise ServiceError(f"{user.email} is the last Account admin of the account; grant Account admin to someone "
                           "else first, so the account is never left without an admin.")
    user.active = active
    ended = 0 if active else sessions.revoke_all(user.id)  # out on every server at their next request
    audit.record(account, Event.USER_REACTIVATED if active else Event.USER_DEACTIVATED, actor=actor,
                 subject=user.email, before={"active": not active}, after={"active": active},
                 **({} if active else {"sessions_ended": ended}))
    return True


def set_password(user: User, password: str) -> None:
    """Give user a new password (at least MIN_PASSWORD characters); every session of theirs ends."""
    check_password(password)
    user.set_password(password)
    sessions.revoke_all(user.id)


def change_password(user: User, current: str, new: str, *, keep_session_id: int | None) -> int:
    """The user's own password change: checks the current one; every other session ends. Returns how many."""
    if not user.check_password(current or ""):
        raise ServiceError("The current password is wrong.")
    check_password(new)
    user.set_password(new)
    ended = sessions.revoke_all(user.id, keep_session_id=keep_session_id)
    audit.record(user.account, Event.USER_PASSWORD_CHANGED, actor=user, subject=user.email, sessions_ended=ended)
    return ended


def sign_out_everywhere(account: Account, user: User, actor=None) -> int:
    """End every session and remember-me token of a user of account, on every server; returns how many ended."""
    _own(account, user)
    ended = sessions.revoke_all(user.id)
    audit.record(account, Event.USER_SIGNED_OUT, actor=actor, subject=user.email, sessions_ended=ended)
    return ended


def set_break_glass(account: Account, user: User, on: bool, actor=None) -> bool:
    """Mark (or unmark) an Account admin who may use their password while the account requires SSO."""
    _own(account, user)
    if on and user.id not in account_admin_ids(account):
        raise ServiceError(f"{user.email} is not an active Account admin; only Account admins can be break-glass "
                           "admins.")
    if user.break_glass == on:
        return False
    user.break_glass = on
    audit.record(account, Event.USER_BREAK_GLASS_CHANGED, actor=actor, subject=user.email,
                 before={"break_glass": not on}, after={"break_glass": on})
    return True


def stamp_login(user: User, at: datetime) -> None:
    """Record a successful password login."""
    user.last_login_at = at


def grant_role(account: Account, user: User, role_name: str, actor=None) -> Role:
    """Grant a role directly to a user of the account."""
    _own(account, user)
    return change_role(account, user, role_name, True, actor)


def revoke_role(account: Account, user: User, role_name: str, actor=None) -> Role:
    """Revoke a role granted directly to a user (roles from teams stay)."""
    _own(account, user)
    return change_role(account, user, role_name, False, actor)


def _own(account: Account, user: User) -> None:
    if user.account_id != account.id:  # views load through get_owned_or_404; this guards other callers
        raise ServiceError(f"{user.email} is not a user of account '{account.domain}'.")
