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


@dataclass(frozen=True)
class Step:
    """One numbered step of the SSO page and whether it is done."""
    number: int
    anchor: str
    title: str
    done: bool


def setup_steps(config, has_certificate: bool, last_test: SsoTestResult | None, attempts: list[Attempt]) -> list[Step]:
    """The five steps of the guide, each marked done from what the account has saved and tried."""
    values = bool(config.idp_login_url and config.idp_issuer and has_certificate)
    tested = (last_test is not None and last_test.outcome == "success") or any(not a.failed for a in attempts)
    return [
        Step(1, "step-1", "Your custom domain", True),  # every account has one from its creation
        # Okta shows its values only once the app exists, so pasted values (or any login) prove step 2.
        Step(2, "step-2", "Create the SAML 2.0 app in Okta", bool(config.idp_login_url or config.idp_issuer
                                                                 or attempts or last_test)),
        Step(3, "step-3", "Paste Okta's SAML setup information", values),
        Step(4, "step-4", "Test SSO", tested),
        Step(5, "step-5", "Enable SSO", bool(config.enabled)),
    ]
