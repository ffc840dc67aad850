"""SSO diagnostics for the settings page: the account's recent SSO login attempts, failures first."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from portal.audit import Event
from portal.extensions import db
from portal.models import Account, AuditEvent, SsoTestResult, User


RECENT_ATTEMPTS = 20


@dataclass
class Attempt:
    """One sso.login (or sso.test) audit event, read for display."""
    id: int
    time: datetime
    email: str
    outcome: str
    reason: str
    reference: str
    fix: str
    sent: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.outcome == "failure"


def attempt(row: AuditEvent | SsoTestResult) -> Attempt:
    """An sso.login audit event, or a Test SSO result, as an Attempt."""
    details = row.details if isinstance(row.details, dict) else {}
    sent = details.get("sent") if isinstance(details.get("sent"), dict) else {}
    email = row.email if isinstance(row, SsoTestResult) else row.subject
    return Attempt(id=row.id, time=row.time, email=email or sent.get("nameid") or "",
                   outcome=row.outcome, reason=row.reason, reference=str(details.get("reference") or ""),
                   fix=str(details.get("fix") or ""), sent=sent, details=details)


def recent_attempts(account: Account, limit: int = RECENT_ATTEMPTS) -> list[Attempt]:
    """The account's last limit SSO login attempts: failures first, then newest first."""
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.account_id == account.id, AuditEvent.event_type == Event.SSO_LOGIN.value)
        .order_by(AuditEvent.id.desc()).limit(limit))
    attempts = [attempt(e) for e in events]
    attempts.sort(key=lambda a: (not a.failed, -a.id))
    return attempts


def break_glass_admins(account: Account) -> list[User]:
    """The account's users marked break-glass (they may use a password while SSO is required)."""
    return list(db.session.scalars(select(User).where(User.account_id == account.id, User.break_glass.is_(True))
                                   .order_by(User.email)))


def break_glass_logins(account: Account, limit: int = 10) -> list[AuditEvent]:
    """The account's last break-glass password logins, newest first."""
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.account_id == account.id, AuditEvent.event_type == Event.LOGIN_PASSWORD_BREAK_GLASS.value)
        .order_by(AuditEvent.id.desc()).limit(limit)))
