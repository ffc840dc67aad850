"""Find or create the user of an SSO login, inside the account only."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.audit import Event
from portal.extensions import db
from portal.models import Account, User, normalise_email
from portal.sso.reasons import Reason

# Attribute names (compared lower-case, last URI segment) that carry a person's names.
FIRST_NAME = ("firstname", "givenname", "given_name", "first_name", "2.5.4.42")
LAST_NAME = ("lastname", "surname", "sn", "family_name", "last_name", "familyname", "2.5.4.4")
DISPLAY_NAME = ("displayname", "display_name", "name", "cn", "fullname", "2.16.840.1.113730.3.1.241")


class ProvisioningError(Exception):
    """The email may not sign in to this account; carries the Reason."""

    def __init__(self, reason: Reason):
        super().__init__(reason.value)
        self.reason = reason


def name_from_attributes(attributes: dict) -> str:
    """A display name from firstName/lastName/displayName-style attributes ("" when none)."""
    found: dict[str, str] = {}
    for key, values in attributes.items():
        short = str(key).rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower()
        value = next((v.strip() for v in values if isinstance(v, str) and v.strip()), "")
        if not value:
            continue
        for kind, names in (("first", FIRST_NAME), ("last", LAST_NAME), ("display", DISPLAY_NAME)):
            if short in names:
                found.setdefault(kind, value)
    full = " ".join(p for p in (found.get("first"), found.get("last")) if p)
    return (found.get("display") or full)[:200]


@dataclass(frozen=True, eq=False)
class SsoUser(UserMixin):
    """The user an SSO login signs in, as one Core query reads it: what the checks, Flask-Login
    (get_id, is_active) and the audit log need. The login writes through Core too, so no ORM User is built."""
    id: int
    account_id: int
    email: str
    active: bool

    @property
    def is_active(self) -> bool:
        return self.active


_users = User.__table__.c
_BY_EMAIL = select(_users.id, _users.account_id, _users.email, _users.active).where(
    _users.email == bindparam("email"))
_CREATE = insert(User.__table__)
# A returning user of the account, active: stamped and read in one statement.
_SIGN_IN = update(User.__table__).where(
    _users.email == bindparam("user_email"), _users.account_id == bindparam("user_account_id"),
    _users.active.is_(True),
).values(last_login_at=bindparam("at"), last_sso_login_at=bindparam("at")).returning(
    _users.id, _users.account_id, _users.email, _users.active)
_STAMP = update(User.__table__).where(_users.id == bindparam("user_id")).values(
    last_login_at=bindparam("at"), last_sso_login_at=bindparam("at"))


def sign_in_user(account: Account, email: str, attributes: dict, auto_create: bool,
                 at: datetime) -> tuple[SsoUser, bool]:
    """The user of account with email, stamped as signed in at `at` (created when auto_create).

    ProvisioningError when the email may not sign in here (unknown, another account's, deactivated).
    """
    email = normalise_email(email)
    row = db.session.connection().execute(
        _SIGN_IN, {"user_email": email, "user_account_id": account.id, "at": at}).first()
    if row is not None:
        return SsoUser(id=row.id, account_id=row.account_id, email=row.email, active=bool(row.active)), False
    user = _by_email(email)
    if user is None:
        if not auto_create:
            raise ProvisioningError(Reason.USER_NOT_FOUND)
        user = _create(account, email, name_from_attributes(attributes), at)
        if user is not None:
            return user, True
        user = _by_email(email)  # a concurrent first login created it
        if user is None:
            raise ProvisioningError(Reason.USER_NOT_FOUND)
    _check(account, user)  # raises, unless a concurrent first login created the user since the UPDATE
    db.session.connection().execute(_STAMP, {"user_id": user.id, "at": at})
    return user, False


def _by_email(email: str) -> SsoUser | None:
    row = db.session.connection().execute(_BY_EMAIL, {"email": email}).first()
    return SsoUser(id=row.id, account_id=row.account_id, email=row.email, active=bool(row.active)) if row else None


def preview_user(account: Account, email: str, auto_create: bool) -> User | None:
    """What sign_in_user would do, writing nothing: the user, None if one would be created, else raises."""
    user = User.by_email(normalise_email(email))
    if user is None:
        if not auto_create:
            raise ProvisioningError(Reason.USER_NOT_FOUND)
        return None
    _check(account, user)
    return user


def _check(account: Account, user: User | SsoUser) -> None:
    if user.account_id != account.id:
        raise ProvisioningError(Reason.USER_IN_OTHER_ACCOUNT)
    if not user.active:
        raise ProvisioningError(Reason.USER_INACTIVE)


def _create(account: Account, email: str, name: str, at: datetime) -> SsoUser | None:
    """Insert the user in a savepoint; None when the unique email was taken meanwhile."""
    try:
        with db.session.begin_nested():
            result = db.session.connection().execute(_CREATE, {
                "account_id": account.id, "email": email, "name": name, "created_via": "sso",
                "last_login_at": at, "last_sso_login_at": at})
    except IntegrityError:
        return None
    user = SsoUser(id=result.inserted_primary_key[0], account_id=account.id, email=email, active=True)
    audit.record(account, Event.USER_CREATED, actor=user, subject=email, created_via="sso", roles=[])
    return user
