"""AuditEvent: append-only record of what happened in an account."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import ColumnElement

from portal.extensions import db
from portal.models.base import utcnow

OUTCOMES = ("success", "failure", "warning")


class _Reference(ColumnElement[str]):
    """details' "reference" (an SSO failure's or Test SSO run's code), written as the exact SQL text that
    ix_audit_event_account_reference_id indexes: both databases match an indexed expression only by its text
    (a bound JSON key, as `details["reference"]` gives, would not match)."""
    type = String()
    inherit_cache = True
    _traverse_internals = []


@compiles(_Reference)
def _reference_json1(_element, _compiler, **_kw) -> str:
    return "json_extract(details, '$.reference')"  # SQLite


@compiles(_Reference, "postgresql")
def _reference_postgresql(_element, _compiler, **_kw) -> str:
    return "(details ->> 'reference')"


REFERENCE = _Reference()


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        # Keyset paging newest-first per account, plus the common filters. time rides along so that a
        # date-range page walking ids tests each event's time in the index, not in the table.
        Index("ix_audit_event_account_id_time", "account_id", "id", "time"),
        Index("ix_audit_event_account_type_id", "account_id", "event_type", "id"),
        Index("ix_audit_event_account_outcome_id", "account_id", "outcome", "id"),
        Index("ix_audit_event_time", "time"),
        # The user-email filter (actor or subject) pages through these two.
        Index("ix_audit_event_account_actor_id", "account_id", "actor_email", "id"),
        Index("ix_audit_event_account_subject_id", "account_id", "subject", "id"),
        # Date-range filter: read a range directly when that beats walking ids (admin/audit_log.py).
        Index("ix_audit_event_account_time", "account_id", "time"),
        # The reference filter (a person reports the code of their failed sign-in): only events that have one.
        Index("ix_audit_event_account_reference_id", "account_id", REFERENCE, "id",
              postgresql_where=REFERENCE.isnot(None), sqlite_where=REFERENCE.isnot(None)),
    )

    # BIGINT on PostgreSQL; SQLite needs INTEGER for its rowid alias to autoincrement.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # Null only for events that belong to no account (e.g. a failed login for an unknown email).
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    time: Mapped[datetime] = mapped_column(default=utcnow)
    event_type: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64), default="")
    actor_id: Mapped[int | None]  # no foreign key: the log outlives what it mentions
    actor_email: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(500), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
