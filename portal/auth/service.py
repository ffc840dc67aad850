"""Password login: check an email and password, apply Require SSO and break-glass, audit the outcome."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from portal import audit
from portal.audit import Event, Reason
from portal.directory.users import stamp_login
from portal.models import Account, User, utcnow
from portal.policy import may_break_glass, requires_sso

_dummy_hashes: dict[str, str] = {}


@dataclass(frozen=True)
class PasswordLogin:
    """The outcome of a password login: the user to sign in, or why not."""
    user: User | None = None
    sso_required: bool = False  # the password was right, but the account requires SSO
    account: Account | None = None  # whose SSO is required
    break_glass: bool = False


def authenticate(email: str, password: str) -> PasswordLogin:
    """Check email and password; audits every outcome for an existing user (an unknown email has no account)."""
    user = User.by_email(email)
    if user is None or not user.password_hash:
        # The same work as a real check, so timing does not tell which emails exist.
        check_password_hash(_dummy_hash(), password or "")
    if user is None or not user.check_password(password or ""):
        if user is not None:
            audit.record(user.account, Event.LOGIN_PASSWORD, outcome="failure", reason=Reason.WRONG_PASSWORD,
                         actor=user, subject=user.email)
        return PasswordLogin()
    if not user.active:
        audit.record(user.account, Event.LOGIN_PASSWORD, outcome="failure", reason=Reason.USER_INACTIVE,
                     actor=user, subject=user.email)
        return PasswordLogin()
    if requires_sso(user):
        if not may_break_glass(user):
            audit.record(user.account, Event.LOGIN_PASSWORD, outcome="failure", reason=Reason.SSO_REQUIRED,
                         actor=user, subject=user.email)
            return PasswordLogin(sso_required=True, account=user.account)
        stamp_login(user, utcnow())
        audit.record(user.account, Event.LOGIN_PASSWORD_BREAK_GLASS, actor=user, subject=user.email)
        return PasswordLogin(user=user, break_glass=True)
    stamp_login(user, utcnow())
    audit.record(user.account, Event.LOGIN_PASSWORD, actor=user, subject=user.email)
    return PasswordLogin(user=user)


def _dummy_hash() -> str:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash("not the password of anyone", method=method)
    return _dummy_hashes[method]
