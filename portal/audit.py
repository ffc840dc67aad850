"""record() and write(): the only writers of AuditEvent."""
from __future__ import annotations

import json
from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from sqlalchemy import insert

from portal.extensions import db
from portal.models import AuditEvent, utcnow

MAX_DETAIL_CHARS = 16_000


def record(account, event_type: str, *, outcome: str = "success", reason: str = "", actor=None,
           subject: str = "", **details: Any) -> AuditEvent:
    """Add an audit event (the caller commits). actor defaults to the signed-in user."""
    event = AuditEvent(**_values(account, event_type, outcome, reason, actor, subject, details))
    db.session.add(event)
    return event


_INSERT = insert(AuditEvent.__table__)


def write(account, event_type: str, *, outcome: str = "success", reason: str = "", actor=None,
          subject: str = "", **details: Any) -> None:
    """record(), but written at once with one INSERT and no ORM object: for the SSO login's hot path.

    Events recorded before it are flushed first, so ids keep the order events happened in.
    """
    db.session.flush()
    db.session.connection().execute(_INSERT, _values(account, event_type, outcome, reason, actor, subject, details))


def _values(account, event_type: str, outcome: str, reason: str, actor, subject: str, details: dict) -> dict:
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user._get_current_object()
    ip = user_agent = ""
    if has_request_context():
        ip = request.remote_addr or ""
        user_agent = (request.user_agent.string or "")[:500]
    return {
        "account_id": getattr(account, "id", account),
        "time": utcnow(),
        "event_type": event_type,
        "outcome": outcome,
        "reason": reason or "",
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
