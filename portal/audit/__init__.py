"""record(): the only writer of AuditEvent."""
from __future__ import annotations

import json
from enum import Enum
from typing import Any

from flask import has_request_context, request
from sqlalchemy import insert

from portal.audit.events import Event, Reason
from portal.extensions import db
from portal.models import AuditEvent, utcnow

__all__ = ["Event", "Reason", "record"]

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
