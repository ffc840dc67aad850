"""Email domains an account lists and proves with a DNS TXT record; only verified ones route /login/sso."""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.accounts import dns_check
from portal.audit import Event, Reason
from portal.errors import FieldErrors, ServiceError
from portal.extensions import db
from portal.models import Account, EmailDomain, utcnow

_EMAIL_DOMAIN = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
# Mailbox providers: listing one would send strangers' logins to this account's IdP.
PUBLIC_EMAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com", "icloud.com",
    "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.net", "gmx.de", "web.de", "mail.com",
    "yandex.com", "yandex.ru", "mail.ru", "zoho.com", "fastmail.com", "qq.com", "163.com",
})


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one Check DNS: verified or the reason it is not, and the message shown."""
    domain: str
    verified: bool
    reason: Reason | None
    message: str


def normalise(value: str) -> str:
    """An email domain as stored: lower-case, without a leading @ or trailing dot."""
    return (value or "").strip().lower().lstrip("@").rstrip(".")


def list_domains(account: Account) -> list[EmailDomain]:
    """The account's email domains, by name."""
    return list(db.session.scalars(select(EmailDomain).where(EmailDomain.account_id == account.id)
                                   .order_by(EmailDomain.domain)))


def get_domain(account: Account, value: str) -> EmailDomain:
    """The account's listing of an email domain, or ServiceError (another account's listing is not found)."""
    domain = normalise(value)
    row = db.session.scalar(select(EmailDomain).where(EmailDomain.account_id == account.id,
                                                      EmailDomain.domain == domain))
    if row is None:
        raise ServiceError(f"The account {account.domain} has no email domain '{domain}'; add it first.")
    return row


def route_account_id(email_domain: str) -> int | None:
    """The account whose verified email domain this is (the only kind /login/sso routes by)."""
    return EmailDomain.verified_owner(normalise(email_domain))


def check_domains(values: list[str]) -> None:
    """Raise FieldErrors when one of values may not be listed; writes nothing."""
    for domain in sorted({normalise(v) for v in values if normalise(v)}):
        _check_listable(domain)


def set_domains(account: Account, values: list[str], actor=None) -> bool:
    """Make the listed email domains exactly values, keeping the token and state of those kept (caller commits)."""
    wanted = sorted({normalise(v) for v in values if normalise(v)})
    for domain in wanted:
        _check_listable(domain)
    rows = {row.domain: row for row in list_domains(account)}
    old = sorted(rows)
    if old == wanted:
        return False
    for domain, row in rows.items():
        if domain not in wanted:
            db.session.delete(row)
    for domain in wanted:
        if domain not in rows:
            db.session.add(EmailDomain(account_id=account.id, domain=domain, token=secrets.token_hex(16)))
    db.session.flush()
    removed_verified = sorted(d for d, row in rows.items() if d not in wanted and row.verified_at)
    audit.record(account, Event.SSO_EMAIL_DOMAINS_UPDATED, actor=actor, subject=account.domain,
                 changes={"email_domains": {"old": old, "new": wanted}},
                 removed_verified=removed_verified or None)
    return True


def add_domain(account: Account, value: str, actor=None) -> EmailDomain:
    """The account's listing of an email domain, listed now (with a new token) if it was not (caller commits)."""
    domain = normalise(value)
    _check_listable(domain)
    rows = list_domains(account)
    for row in rows:
        if row.domain == domain:
            return row
    set_domains(account, [r.domain for r in rows] + [domain], actor=actor)
    return get_domain(account, domain)


def check(account: Account, value: str, actor=None, now: datetime | None = None) -> CheckResult:
    """Look up the domain's TXT record and record the result: verified, or why not (caller commits).

    The DNS lookup runs before anything is written, so no transaction waits on the resolver. A proof that
    is gone (no record, other token, NXDOMAIN) ends a verification; a resolver failure only reports.
    """
    row = get_domain(account, value)
    config = current_app.config
    found = dns_check.lookup(row.domain, row.token, config["DNS_RESOLVER"], config["DNS_TIMEOUT"])
    now = now or utcnow()
    reason, message = found.reason, found.message
    if found.verified:
        owner = EmailDomain.verified_owner(row.domain)
        if owner is not None and owner != account.id:
            reason = Reason.EMAIL_DOMAIN_OF_OTHER_ACCOUNT
            message = f"{row.domain} is already verified by another account; it cannot be verified here."
        elif not _mark_verified(row):
            reason = Reason.EMAIL_DOMAIN_OF_OTHER_ACCOUNT
            message = f"{row.domain} was verified by another account meanwhile; it cannot be verified here."
    was_verified = row.verified_at is not None
    row.last_checked_at, row.last_check_result = now, message[:500]
    if reason is None:
        if not was_verified:
            row.verified_at = now
            audit.record(account, Event.SSO_EMAIL_DOMAIN_VERIFIED, actor=actor, subject=row.domain,
                         record=dns_check.record_value(row.token))
        db.session.flush()
        return CheckResult(row.domain, True, None, message)
    unverified = was_verified and (found.definitive or reason is Reason.EMAIL_DOMAIN_OF_OTHER_ACCOUNT)
    if unverified:  # the proof is gone: /login/sso stops routing by this domain
        row.verified_at, row.verified_domain = None, None
    db.session.flush()
    audit.record(account, Event.SSO_EMAIL_DOMAIN_CHECK_FAILED, actor=actor, outcome="failure", reason=reason,
                 subject=row.domain, message=message, unverified=unverified or None)
    return CheckResult(row.domain, row.verified_at is not None, reason, message)


def _mark_verified(row: EmailDomain) -> bool:
    """Take the domain's unique verified slot; False when another account took it first (concurrent check)."""
    if row.verified_domain == row.domain:
        return True
    try:
        with db.session.begin_nested():
            row.verified_domain = row.domain
    except IntegrityError:
        row.verified_domain = None
        return False
    return True


def _check_listable(domain: str) -> None:
    if not _EMAIL_DOMAIN.match(domain):
        raise FieldErrors({"email_domains": f"'{domain}' is not an email domain (for example acme.com)."})
    if domain in PUBLIC_EMAIL_DOMAINS:
        raise FieldErrors({"email_domains": f"'{domain}' is a public mailbox provider and cannot be used."})
