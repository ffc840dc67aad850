"""The one place a signed-in session starts, is loaded on each request, and ends."""
from __future__ import annotations

from flask import session
from flask_login import UserMixin, login_user, logout_user

from portal.extensions import db, login_manager
from portal.models import User, UserRef


@login_manager.user_loader
def load(user_id: str) -> User | None:
    """The signed-in user of this request, or None (unknown or deactivated: signed out)."""
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


class _Starting(UserMixin):
    """What Flask-Login needs to start a session for a UserRef (the SSO login holds no ORM User)."""

    def __init__(self, user: UserRef):
        self.id, self.active = user.id, user.active

    @property
    def is_active(self) -> bool:
        return self.active


def start(user: UserRef, *, method: str, remember: bool = False) -> None:
    """Sign user in on a fresh session (no fixation); method is "password" or "sso"."""
    session.clear()
    login_user(_Starting(user), remember=remember)
    session["login_method"] = method


def end() -> None:
    """Sign out and forget everything the session held."""
    logout_user()
    session.clear()
