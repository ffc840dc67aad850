"""Recent provisioning activity: the account's SCIM audit events, failures and warnings first."""
from __future__ import annotations

from sqlalchemy import case, select

from portal.extensions import db
from portal.models import Account, AuditEvent

RECENT = 30


def recent(account: Account, limit: int = RECENT) -> list[AuditEvent]:
    """The account's latest SCIM events (scim.*), failures and warnings before successes, newest first."""
    latest = (select(AuditEvent.id).where(AuditEvent.account_id == account.id,
                                          AuditEvent.event_type.like("scim.%"))
              .order_by(AuditEvent.id.desc()).limit(limit).subquery())
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.id.in_(select(latest.c.id))).order_by(
        case((AuditEvent.outcome == "success", 1), else_=0), AuditEvent.id.desc())))
