"""The one place a signed-in session starts, is loaded on each request, and ends.

A session is a row (UserSession); the signed cookie carries only a random id whose SHA-256 the row
keeps. Loading a request's user is one indexed query (session joined with its user and account), done
first thing in the request; ending a session deletes its row, so every server refuses a copy of the
cookie at its next request. "Keep me signed in" is a second random token in its own cookie, also stored
hashed: when the session is gone (idle or past its lifetime) it starts a new one under the same limits,
and logout or any revocation deletes it.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import Flask, current_app, flash, g, redirect, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import UserMixin, current_user, login_url, login_user, logout_user
from sqlalchemy import bindparam, delete, insert, select, update

from portal.extensions import db, login_manager
from portal.models import RememberToken, User, UserRef, UserSession, utcnow
from portal.policy import password_refused

SID = "sid"  # key of the session id in the signed cookie
REMEMBER_COOKIE = "portal_remember"
ENDED = "Your session has ended. Please sign in again."
# The ACS never reads the browser's session (it may start one); SCIM authenticates by bearer token only.
NOT_LOADED = {"static", "sso.callback", "scim.service"}
TOKEN_ONLY_PREFIXES = ("/scim/v2/",)  # bearer-token APIs: no cookie session is opened or saved there
_LOAD = (select(User, UserSession.id, UserSession.expires_at, UserSession.last_seen_at)
         .join(UserSession, UserSession.user_id == User.id).where(UserSession.token_hash == bindparam("token_hash")))
_INSERT = insert(UserSession.__table__)
_REMEMBERED = (select(User, RememberToken).join(RememberToken, RememberToken.user_id == User.id)
               .where(RememberToken.token_hash == bindparam("token_hash")))


def digest(token: str) -> str:
    """What is stored of a session or remember-me token (the token itself is only in the browser)."""
    return hashlib.sha256(token.encode()).hexdigest()


class _Starting(UserMixin):
    """What Flask-Login needs to start a session for a UserRef (the SSO login holds no ORM User)."""

    def __init__(self, user: UserRef):
        self.id, self.active = user.id, user.active

    @property
    def is_active(self) -> bool:
        return self.active


def start(user: UserRef, *, method: str, remember: bool = False, not_after: datetime | None = None,
          now: datetime | None = None) -> None:
    """Sign user in on a fresh session (no fixation): method is "password" or "sso"; the caller commits.

    not_after: the IdP's SessionNotOnOrAfter, when it ends the session before PORTAL_SESSION_LIFETIME does.
    """
    now = now or utcnow()
    remember_id = None
    if remember:
        token = secrets.token_urlsafe(32)
        row = RememberToken(token_hash=digest(token), user_id=user.id, created_at=now,
                            expires_at=now + timedelta(seconds=current_app.config["REMEMBER_LIFETIME"]))
        db.session.add(row)
        db.session.flush()
        remember_id, g.remember_token = row.id, token
    _begin(user, method, now, not_after, remember_id)


def _begin(user: UserRef, method: str, now: datetime, not_after: datetime | None, remember_id: int | None) -> None:
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=current_app.config["SESSION_LIFETIME"])
    if not_after is not None:
        expires = min(expires, not_after)
    # One Core INSERT (the SSO login's hot path builds no ORM object), in the caller's transaction.
    session_id = db.session.connection().execute(_INSERT, {
        "token_hash": digest(token), "user_id": user.id, "account_id": user.account_id, "method": method,
        "created_at": now, "last_seen_at": now, "expires_at": expires, "remember_id": remember_id,
        "ip": (request.remote_addr or "")[:64], "user_agent": (request.user_agent.string or "")[:500],
    }).inserted_primary_key[0]
    session.clear()
    login_user(_Starting(user))
    session[SID] = token
    session["login_method"] = method
    g.session_id = session_id


def end() -> None:
    """Log out this browser: its session and the remember-me token issued with it end; other devices stay."""
    session_id = g.get("session_id")
    if session_id is not None:
        row = db.session.get(UserSession, session_id)
        if row is not None:
            if row.remember_id is not None:
                db.session.execute(delete(RememberToken).where(RememberToken.id == row.remember_id))
            db.session.delete(row)
    _forget()


def revoke_all(user_id: int, *, keep_session_id: int | None = None) -> int:
    """End every session of a user (except keep_session_id) and their remember-me tokens; the caller commits."""
    keep_remember = None
    if keep_session_id is not None:
        keep_remember = db.session.scalar(select(UserSession.remember_id).where(UserSession.id == keep_session_id))
    ended = db.session.execute(delete(UserSession).where(
        UserSession.user_id == user_id, UserSession.id != (keep_session_id or 0))).rowcount
    db.session.execute(delete(RememberToken).where(RememberToken.user_id == user_id,
                                                   RememberToken.id != (keep_remember or 0)))
    return ended


def revoke_password_sessions(account_id: int, *, keep_user_ids: set[int]) -> int:
    """End the account's password and remember-me sessions and remember-me tokens, except keep_user_ids' (the
    break-glass admins): Require SSO now applies to them. SSO sessions stay; the caller commits."""
    people = select(User.id).where(User.account_id == account_id, User.id.not_in(keep_user_ids or {0}))
    ended = db.session.execute(delete(UserSession).where(
        UserSession.account_id == account_id, UserSession.method.in_(("password", "remember")),
        UserSession.user_id.in_(people))).rowcount
    db.session.execute(delete(RememberToken).where(RememberToken.user_id.in_(people)))
    return ended


def end_one(user_id: int, session_id: int) -> bool:
    """End one session of a user (the sessions page); False when it is not theirs or already gone."""
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != user_id:
        return False
    if row.remember_id is not None:
        db.session.execute(delete(RememberToken).where(RememberToken.id == row.remember_id))
    db.session.delete(row)
    return True


def list_for(user_id: int, now: datetime | None = None) -> list[UserSession]:
    """The user's live sessions, most recently seen first."""
    now = now or utcnow()
    idle = timedelta(seconds=current_app.config["SESSION_IDLE_TIMEOUT"])
    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user_id)
                              .order_by(UserSession.last_seen_at.desc()))
    return [r for r in rows if r.expires_at > now and r.last_seen_at + idle > now]


def device(user_agent: str) -> str:
    """A short name for a browser's User-Agent: "Firefox on Linux" (the sessions pages)."""
    ua = user_agent or ""
    browser = next((name for key, name in (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
                                            ("Chrome/", "Chrome"), ("Safari/", "Safari")) if key in ua), "")
    system = next((name for key, name in (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
                                           ("Windows", "Windows"), ("Mac OS X", "macOS"), ("Linux", "Linux"))
                   if key in ua), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (ua[:60] or "Unknown device")


def current_session_id() -> int | None:
    """The id of this request's session row (None when anonymous)."""
    return g.get("session_id")


@login_manager.user_loader
def _load(user_id: str) -> User | None:
    token = session.get(SID)
    if not token:
        return None
    row = db.session.execute(_LOAD, {"token_hash": digest(token)}).first()
    now = utcnow()
    cfg = current_app.config
    if row is None or str(row.User.id) != user_id:
        return _ended()
    if not row.User.active or row.expires_at <= now or \
            row.last_seen_at + timedelta(seconds=cfg["SESSION_IDLE_TIMEOUT"]) <= now:
        db.session.execute(delete(UserSession).where(UserSession.id == row.id))
        db.session.commit()
        return _ended()
    # Every signed-in request restarts the idle timer; written at most once a minute (a twentieth of the idle
    # timeout when that is shorter), so most requests read only.
    if now - row.last_seen_at >= timedelta(seconds=min(60, cfg["SESSION_IDLE_TIMEOUT"] / 20)):
        db.session.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now))
        db.session.commit()
    g.session_id = row.id
    return row.User


@login_manager.request_loader
def _load_remembered(req) -> User | None:
    """A browser without a live session but with a remember-me cookie: a new session under the same limits."""
    token = req.cookies.get(REMEMBER_COOKIE)
    if not token:
        return None
    now = utcnow()
    row = db.session.execute(_REMEMBERED, {"token_hash": digest(token)}).first()
    if row is None or not row.User.active or row.RememberToken.expires_at <= now or password_refused(row.User):
        if row is not None:  # a token a password login would be refused for never works again
            db.session.execute(delete(RememberToken).where(RememberToken.id == row.RememberToken.id))
            db.session.commit()
        g.forget_remember = True
        return None
    row.RememberToken.last_used_at = now
    _begin(row.User, "remember", now, None, row.RememberToken.id)
    db.session.commit()
    return row.User


def _ended() -> None:
    g.session_ended = True
    session.pop(SID, None)
    session.pop("_user_id", None)
    return None


def _forget() -> None:
    logout_user()
    session.clear()
    g.forget_remember = True
    g.pop("session_id", None)


class _CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie session, except under TOKEN_ONLY_PREFIXES (a null session: nothing read or written)."""

    def open_session(self, app, request_):
        if request_.path.startswith(TOKEN_ONLY_PREFIXES):
            return self.null_session_class()  # no cookie is verified, and Flask saves no null session
        return super().open_session(app, request_)


def install(app: Flask) -> None:
    """Load each request's user first thing (so the loader may write), and set or clear the remember-me cookie."""
    # Flask-Login's own remember cookie ("<user id>|<hmac>") could never be revoked: give it a name nobody
    # sends, so only REMEMBER_COOKIE (random, stored hashed) remembers anyone.
    app.config["REMEMBER_COOKIE_NAME"] = "portal_unused_remember"
    app.session_interface = _CookieSessions()

    @app.before_request
    def _load_user_first():
        if request.endpoint not in NOT_LOADED:
            current_user._get_current_object()

    @app.after_request
    def _remember_cookie(response):
        if g.get("remember_token"):
            response.set_cookie(REMEMBER_COOKIE, g.remember_token, max_age=app.config["REMEMBER_LIFETIME"],
                                secure=app.config["SESSION_COOKIE_SECURE"], httponly=True, samesite="Lax")
        elif g.get("forget_remember") and REMEMBER_COOKIE in request.cookies:
            response.delete_cookie(REMEMBER_COOKIE, secure=app.config["SESSION_COOKIE_SECURE"], httponly=True,
                                   samesite="Lax")
        return response

    @login_manager.unauthorized_handler
    def _unauthorized():
        flash(ENDED if g.get("session_ended") else "Please sign in to open that page.", "info")
        return redirect(login_url("auth.login", next_url=request.url))  # Flask-Login's next=, relative
