"""Helpers shared by the audit log tests (service, views, CLI)."""
from __future__ import annotations

from datetime import datetime

from portal import audit
from portal.extensions import db
from portal.models import AuditEvent


def add_event(account, event_type="test.event", *, outcome="success", reason="", actor=None, subject="",
              at: datetime | None = None, **details) -> AuditEvent:
    """Write an event through the real writer, optionally back-dated, and commit."""
    event = db.session.get(AuditEvent, audit.record(account, event_type, outcome=outcome, reason=reason, actor=actor,
                                                    subject=subject, **details))
    if at is not None:
        event.time = at  # tests only: the application never rewrites an event
    db.session.commit()
    return event
