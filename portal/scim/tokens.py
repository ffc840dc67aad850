"""SCIM bearer tokens: create (shown once), list, revoke, authenticate, throttle."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from portal import audit, ratelimits
from portal.audit import Event
from portal.errors import ServiceError
from portal.extensions import db
from portal.inputs import MAX_ID
from portal.models import Account, ScimToken, utcnow

PREFIX = "scim_"  # recognisable in secret scanners and logs
MAX_NAME = 100
TOUCH_EVERY = timedelta(seconds=60)  # last_used_at is written at most this often per token
# The active token and its account in one query, which every SCIM request runs: nothing remembers a token between
# requests, so a revoked one is refused at once on every server (a per-process cache let it work on for seconds).
_BY_HASH = select(ScimToken, Account).join(Account, Account.id == ScimToken.account_id).where(
    ScimToken.token_hash == bindparam("token_hash"), ScimToken.revoked_at.is_(None))
_TOUCH = update(ScimToken.__table__).where(ScimToken.__table__.c.id == bindparam("token_id")).values(
    last_used_at=bindparam("at"))


def digest(token: str) -> str:
    """What is stored of a token: its SHA-256 (the token itself exists only where it was shown)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(account: Account, name: str | None, actor=None) -> tuple[ScimToken, str]:
    """A new token for account; returns the row and the token (shown once, never stored)."""
    name = " ".join((name or "").split()) or f"SCIM token {utcnow():%Y-%m-%d %H:%M}"
    if len(name) > MAX_NAME:
        raise ServiceError(f"A token name is at most {MAX_NAME} characters long.")
    if name in {t.name for t in list_tokens(account)}:
        raise ServiceError(f"The account already has an active SCIM token named '{name}'; choose another name.")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ScimToken(account_id=account.id, name=name, token_hash=digest(token), created_at=utcnow())
    db.session.add(row)
    db.session.flush()
    audit.record(account, Event.SCIM_TOKEN_CREATED, actor=actor, subject=name, token_id=row.id)
    return row, token


def list_tokens(account: Account) -> list[ScimToken]:
    """The account's tokens that are not revoked, oldest first."""
    return list(db.session.scalars(select(ScimToken).where(
        ScimToken.account_id == account.id, ScimToken.revoked_at.is_(None)).order_by(ScimToken.id)))


def get_token(account: Account, token_id) -> ScimToken:
    """An active token of account by id, or ServiceError (another account's token is not found either)."""
    try:
        token_id = int(token_id)
        if not 0 < token_id <= MAX_ID:  # past what the id column holds: no such token either
            raise ValueError
    except (TypeError, ValueError):
        raise ServiceError(f"No active SCIM token {token_id!r} in account '{account.domain}'.") from None
    row = db.session.get(ScimToken, token_id)
    if row is None or row.account_id != account.id or row.revoked_at is not None:
        raise ServiceError(f"No active SCIM token {token_id} in account '{account.domain}'.")
    return row


def revoke_token(account: Account, token_id, actor=None) -> ScimToken:
    """Revoke a token: its next request is refused (401). The row stays for the audit trail."""
    row = get_token(account, token_id)
    row.revoked_at = utcnow()
    audit.record(account, Event.SCIM_TOKEN_REVOKED, actor=actor, subject=row.name, token_id=row.id)
    return row


def authenticate(domain: str, authorization: str | None) -> tuple[ScimToken, Account] | None:
    """The active token (and its account) of the account at domain named by an `Authorization: Bearer` header.

    The token is found by its hash, then must belong to the account of the URL: another account's
    token answers exactly like an unknown one (None).
    """
    scheme, _, value = (authorization or "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > 200:
        return None
    found = db.session.execute(_BY_HASH, {"token_hash": digest(value)}).first()
    if found is None:  # unknown or revoked
        return None
    row, account = found
    if account.domain != domain:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        db.session.execute(_TOUCH, {"token_id": row.id, "at": now})
        set_committed_value(row, "last_used_at", now)  # already written: the ORM must not UPDATE it again
    return row, account


def throttle(token: ScimToken) -> int | None:
    """Count one request of token; the seconds to wait when PORTAL_SCIM_RATE_LIMIT is used up, else None."""
    return ratelimits.hit(current_app.config["SCIM_RATE_LIMIT"], "scim", str(token.id))[0]


def first_refusal_in_window(token: ScimToken, retry_after: int) -> bool:
    """Whether this 429 is the first of its window (only that one is audited: a throttled client can't flood the log)."""
    return ratelimits.hit(f"1 per {max(1, retry_after)} second", "scim-429", str(token.id))[0] is None
