"""Server-side sign-in sessions and remember-me tokens: a session exists while its row does."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.base import utcnow


class UserSession(db.Model):
    """One signed-in browser. The signed cookie holds a random id; only its SHA-256 is stored here.

    Ending a session deletes its row, so a copy of the cookie signs in nowhere, on any server.
    """
    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(16))  # password, sso or remember (a remember-me sign-in)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The absolute end: PORTAL_SESSION_LIFETIME after the start, or the IdP's SessionNotOnOrAfter when earlier.
    expires_at: Mapped[datetime]
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(500), default="")
    # The remember-me token issued with (or used to start) this session: logout ends both.
    remember_id: Mapped[int | None] = mapped_column(ForeignKey("remember_token.id", ondelete="SET NULL"))


class RememberToken(db.Model):
    """"Keep me signed in": a random token in its own cookie, stored hashed; it starts new sessions until it expires."""
    __tablename__ = "remember_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
