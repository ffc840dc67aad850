"""Find or create the user of an SSO login, inside the account only."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.audit import Event
from portal.directory.roles import grants_account_admin
from portal.extensions import db
from portal.models import AccountView, EmailDomain, Role, User, UserRef, normalise_email, user_roles

# Attribute names (compared lower-case, last URI segment) that carry a person's names.
FIRST_NAME = ("firstname", "givenname", "given_name", "first_name", "2.5.4.42")
LAST_NAME = ("lastname", "surname", "sn", "family_name", "last_name", "familyname", "2.5.4.4")
DISPLAY_NAME = ("displayname", "display_name", "name", "cn", "fullname", "2.16.840.1.113730.3.1.241")


class ProvisioningError(Exception):
    """The email may not sign in to this account; code is the login's reason (portal.sso.reasons.Reason value)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


USER_NOT_FOUND, USER_IN_OTHER_ACCOUNT, USER_INACTIVE = "user_not_found", "user_in_other_account", "user_inactive"
EMAIL_DOMAIN_OF_OTHER_ACCOUNT = "email_domain_of_other_account"


def name_from_attributes(attributes: dict, mapping=None) -> str:
    """A display name: the mapped first and last name attributes, else firstName/lastName/displayName-style ones.

    mapping: the account's SSO settings (first_name_attribute, last_name_attribute), or None.
    """
    mapped = [_first_value(attributes.get(getattr(mapping, f, None) or "") or ())
              for f in ("first_name_attribute", "last_name_attribute")]
    if any(mapped):
        return " ".join(p for p in mapped if p)[:200]
    found: dict[str, str] = {}
    for key, values in attributes.items():
        short = str(key).rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower()
        value = _first_value(values)
        if not value:
            continue
        for kind, names in (("first", FIRST_NAME), ("last", LAST_NAME), ("display", DISPLAY_NAME)):
            if short in names:
                found.setdefault(kind, value)
    full = " ".join(p for p in (found.get("first"), found.get("last")) if p)
    return (found.get("display") or full)[:200]


def _first_value(values) -> str:
    return next((v.strip() for v in values if isinstance(v, str) and v.strip()), "")


@dataclass(frozen=True)
class UserRow:
    """A UserRef read by one Core statement: an SSO login builds no ORM User (it writes through Core too)."""
    id: int
    account_id: int
    email: str
    active: bool


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


def sign_in_user(account: AccountView, email: str, attributes: dict, auto_create: bool,
                 at: datetime) -> tuple[UserRow, bool]:
    """The user of account with email, stamped as signed in at `at` (created when auto_create).

    ProvisioningError when the email may not sign in here (unknown, another account's, deactivated).
    """
    email = normalise_email(email)
    row = db.session.connection().execute(
        _SIGN_IN, {"user_email": email, "user_account_id": account.id, "at": at}).first()
    if row is not None:
        return UserRow(id=row.id, account_id=row.account_id, email=row.email, active=bool(row.active)), False
    user = _by_email(email)
    if user is None:
        if not auto_create:
            raise ProvisioningError(USER_NOT_FOUND)
        _check_domain_free(account, email)
        user = _create(account, email, name_from_attributes(attributes, account.sso_config), at)
        if user is not None:
            return user, True
        user = _by_email(email)  # a concurrent first login created it
        if user is None:
            raise ProvisioningError(USER_NOT_FOUND)
    _check(account, user)  # raises, unless a concurrent first login created the user since the UPDATE
    db.session.connection().execute(_STAMP, {"user_id": user.id, "at": at})
    return user, False


def _by_email(email: str) -> UserRow | None:
    row = db.session.connection().execute(_BY_EMAIL, {"email": email}).first()
    return UserRow(id=row.id, account_id=row.account_id, email=row.email, active=bool(row.active)) if row else None


def preview_user(account: AccountView, email: str, auto_create: bool) -> User | None:
    """What sign_in_user would do, writing nothing: the user, None if one would be created, else raises."""
    user = User.by_email(normalise_email(email))
    if user is None:
        if not auto_create:
            raise ProvisioningError(USER_NOT_FOUND)
        _check_domain_free(account, email)
        return None
    _check(account, user)
    return user


def _check_domain_free(account: AccountView, email: str) -> None:
    """Refuse to create a user at an email domain another account has verified (email squatting)."""
    if EmailDomain.verified_elsewhere(email, account.id):
        raise ProvisioningError(EMAIL_DOMAIN_OF_OTHER_ACCOUNT)


def _check(account: AccountView, user: UserRef) -> None:
    if user.account_id != account.id:
        raise ProvisioningError(USER_IN_OTHER_ACCOUNT)
    if not user.active:
        raise ProvisioningError(USER_INACTIVE)


def _create(account: AccountView, email: str, name: str, at: datetime) -> UserRow | None:
    """Insert the user in a savepoint; None when the unique email was taken meanwhile."""
    try:
        with db.session.begin_nested():
            result = db.session.connection().execute(_CREATE, {
                "account_id": account.id, "email": email, "name": name, "created_via": "sso",
                "last_login_at": at, "last_sso_login_at": at})
    except IntegrityError:
        return None
    user = UserRow(id=result.inserted_primary_key[0], account_id=account.id, email=email, active=True)
    role = _grant_default_role(account, user.id)
    audit.record(account, Event.USER_CREATED, actor=user, subject=email, created_via="sso",
                 roles=[role] if role else [])
    return user


def _grant_default_role(account: AccountView, user_id: int) -> str | None:
    """Grant the account's default role for new people (if any) to a user SSO just created; its name."""
    role_id = account.default_role_id
    if role_id is None:
        return None
    role = db.session.connection().execute(select(Role.name, Role.permissions).where(Role.id == role_id)).first()
    if role is None or grants_account_admin(role.permissions):  # never an admin by itself (roles.default_role)
        return None
    name = role.name
    db.session.connection().execute(insert(user_roles), {"user_id": user_id, "role_id": role_id})
    return name
