"""Password login: check an email and password, audit the outcome."""
from __future__ import annotations

from portal import audit
from portal.audit import Event, Reason
from portal.directory.users import stamp_login
from portal.models import User, utcnow


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None; audits either outcome."""
    user = User.by_email(email)
    if user is None or not user.check_password(password or ""):
        if user is not None:
            audit.record(user.account, Event.LOGIN_PASSWORD, outcome="failure", reason=Reason.WRONG_PASSWORD,
                         actor=user, subject=user.email)
        return None
    if not user.active:
        audit.record(user.account, Event.LOGIN_PASSWORD, outcome="failure", reason=Reason.USER_INACTIVE,
                     actor=user, subject=user.email)
        return None
    stamp_login(user, utcnow())
    audit.record(user.account, Event.LOGIN_PASSWORD, actor=user, subject=user.email)
    return user
