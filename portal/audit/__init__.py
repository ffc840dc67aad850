"""record() and tally(): the only writers of AuditEvent."""
from __future__ import annotations

import json
from enum import Enum
from typing import Any

from flask import has_request_context, request
from sqlalchemy import insert, select, update

from portal.audit.events import Event, Reason
from portal.extensions import db
from portal.models import AuditEvent, utcnow

__all__ = ["Event", "Reason", "record", "tally"]

MAX_DETAIL_CHARS = 16_000
_INSERT = insert(AuditEvent.__table__)


def record(account, event: Event | str, *, actor, outcome: str = "success", reason: Enum | str = "",
           subject: str = "", **details: Any) -> int:
    """Write an audit event in the caller's transaction (the caller commits).

    actor is explicit (None for operator CLI commands): SCIM and the IdP's posts have no signed-in user.
    One Core INSERT, no ORM object, so the SSO login's hot path can use it too; pending ORM changes are
    flushed first so event ids keep the order things happened in. Returns the event's id. The application
    names every type in events.py (tests/audit/test_events.py checks that no call passes a literal).
    """
    db.session.flush()
    values = _values(account, event.value if isinstance(event, Event) else event, outcome, reason, actor, subject,
                      details)
    return db.session.connection().execute(_INSERT, values).inserted_primary_key[0]


def tally(account, event: Event, *, window: str, count: int, **details: Any) -> int:
    """The one failure event of this type for account and window (its subject), with count updated.

    For what is counted rather than logged one by one (a flood of unsigned ACS posts): the first post
    past the rate writes the event, later ones in the same window only update its count (taken from
    an atomic counter, so concurrent updates never lower it by more than the posts in flight).
    """
    db.session.flush()
    table = AuditEvent.__table__
    found = db.session.connection().execute(
        select(table.c.id, table.c.details).where(table.c.account_id == getattr(account, "id", account),
                                                  table.c.event_type == event.value, table.c.subject == window)
        .order_by(table.c.id.desc()).limit(1)).first()
    values = {"window": window, "count": count, **details}
    if found is None:
        return record(account, event, actor=None, outcome="failure", subject=window, **values)
    if count > (found.details or {}).get("count", 0):
        db.session.connection().execute(update(table).where(table.c.id == found.id).values(details=_trim(values)))
    return found.id


def _values(account, event_type: str, outcome: str, reason, actor, subject: str, details: dict) -> dict:
    ip = user_agent = ""
    if has_request_context():
        ip = request.remote_addr or ""
        user_agent = (request.user_agent.string or "")[:500]
    return {
        "account_id": getattr(account, "id", account),
        "time": utcnow(),
        "event_type": event_type,
        "outcome": outcome,
        "reason": (reason.value if isinstance(reason, Enum) else reason) or "",
        "actor_id": getattr(actor, "id", None),
        "actor_email": getattr(actor, "email", "") or "",
        "subject": (subject or "")[:500],
        "ip": ip[:64],
        "user_agent": user_agent,
        "details": _trim(details),
    }


def _trim(details: dict) -> dict:
    """Keep details JSON-safe and bounded so one event cannot bloat the log."""
    text = json.dumps(details, default=str)
    if len(text) <= MAX_DETAIL_CHARS:
        return json.loads(text)
    return {"truncated": True, "preview": text[:MAX_DETAIL_CHARS]}
