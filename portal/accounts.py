"""Account and user services shared by the CLI, the admin pages and login."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import (Account, ClaimedEmailDomain, Role, SsoConfig, Team, User, domain_problem,
                           normalise_domain, normalise_email, utcnow)
from portal.permissions import ACCOUNT_ADMIN

MIN_PASSWORD = 8


def check_email(value: str) -> str:
    """The normalised email, or ServiceError saying why it is not one."""
    email = normalise_email(value)
    try:
        validate_email(email, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ServiceError(f"'{value}' is not a valid email address: {exc}") from None
    return email


def check_password(password: str | None) -> None:
    if password is not None and len(password) < MIN_PASSWORD:
        raise ServiceError(f"The password must be at least {MIN_PASSWORD} characters long.")


def create_account(name: str, domain: str, admin_email: str, admin_password: str | None = None,
                   actor=None) -> tuple[Account, User]:
    """Create an account with its first Account admin (caller commits)."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("The account needs a name.")
    domain = normalise_domain(domain)
    problem = domain_problem(domain)
    if problem:
        raise ServiceError(f"Invalid custom domain '{domain}': {problem}")
    if Account.domain_taken(domain):
        raise ServiceError(f"The custom domain '{domain}' is already used by another account.")
    account = Account(name=name, domain=domain)
    db.session.add(account)
    db.session.add(SsoConfig(account=account))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ServiceError(f"The custom domain '{domain}' is already used by another account.") from None
    admin = create_user(account, admin_email, password=admin_password, role=ACCOUNT_ADMIN, via="cli", actor=actor)
    audit.record(account, "account.created", actor=actor, subject=domain, name=name, admin=admin.email)
    return account, admin


def create_user(account: Account, email: str, password: str | None = None, role: str | None = None,
                name: str = "", via: str = "cli", actor=None) -> User:
    """Create a user in account; the email must be free across the whole portal."""
    email = check_email(email)
    check_password(password)
    role_obj = None
    if role:
        role_obj = Role.by_name(role)
        if role_obj is None:
            names = ", ".join(r.name for r in db.session.scalars(select(Role).order_by(Role.id)))
            raise ServiceError(f"Unknown role '{role}'. Roles: {names}.")
    if User.by_email(email) is not None:
        raise ServiceError(f"The email {email} is already used by a user (emails are unique across the portal).")
    user = User(account=account, email=email, name=(name or "").strip(), created_via=via)
    if password:
        user.set_password(password)
    if role_obj:
        user.roles.append(role_obj)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent create of the same email won
        db.session.rollback()
        raise ServiceError(f"The email {email} is already used by a user.") from None
    audit.record(account, "user.created", actor=actor, subject=email, created_via=via,
                 roles=[role_obj.name] if role_obj else [])
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None; audits either outcome."""
    user = User.by_email(email)
    if user is None or not user.check_password(password or ""):
        if user is not None:
            audit.record(user.account, "login.password", outcome="failure", reason="wrong_password",
                         actor=user, subject=user.email)
        return None
    if not user.active:
        audit.record(user.account, "login.password", outcome="failure", reason="user_inactive",
                     actor=user, subject=user.email)
        return None
    user.last_login_at = utcnow()
    audit.record(user.account, "login.password", actor=user, subject=user.email)
    return user


def find_for_sso(text: str) -> Account | None:
    """The account for a custom domain, or for a work email whose domain an account claimed."""
    text = (text or "").strip().lower()
    if "@" in text:
        email_domain = text.rsplit("@", 1)[1]
        claim = db.session.scalar(select(ClaimedEmailDomain).where(ClaimedEmailDomain.email_domain == email_domain))
        return db.session.get(Account, claim.account_id) if claim else None
    if "/" in text:  # a pasted SP Initiation URL: take its last part
        text = text.rstrip("/").rsplit("/", 1)[1]
    return Account.by_domain(text)


def set_active(user: User, active: bool, actor=None) -> None:
    """Deactivate or reactivate a user (a deactivated user cannot log in at all)."""
    if user.active == active:
        return
    if not active and user.id in account_admin_ids(user.account) and not account_admin_ids(
            user.account, without_user=user.id):
        audit.record(user.account, "user.deactivated", outcome="failure", reason="last_account_admin",
                     actor=actor, subject=user.email)
        raise ServiceError(f"{user.email} is the last Account admin of the account; grant Account admin "
                           "to someone else first, so the account is never left without an admin.")
    user.active = active
    audit.record(user.account, "user.reactivated" if active else "user.deactivated", actor=actor,
                 subject=user.email, before={"active": not active}, after={"active": active})


def is_last_admin(user: User) -> bool:
    """Whether user is the only active user of the account holding Account admin."""
    return account_admin_ids(user.account) <= {user.id}


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


def list_accounts() -> list[Account]:
    return list(db.session.scalars(select(Account).order_by(Account.domain)))


def list_users(account: Account) -> list[User]:
    return list(db.session.scalars(select(User).where(User.account_id == account.id).order_by(User.email)))


def get_account(domain: str) -> Account:
    """The account with this custom domain, or ServiceError."""
    account = Account.by_domain(domain)
    if account is None:
        raise ServiceError(f"No account has the custom domain '{normalise_domain(domain)}'.")
    return account


def get_user(account: Account, email: str) -> User:
    """The user with this email inside account, or ServiceError."""
    user = User.by_email(email)
    if user is None or user.account_id != account.id:
        raise ServiceError(f"No user {normalise_email(email)} in account '{account.domain}'.")
    return user
