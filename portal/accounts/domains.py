"""The account's custom domain and the email domains it claims for /login/sso."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.audit import Event
from portal.errors import FieldErrors
from portal.extensions import db
from portal.models import Account, ClaimedEmailDomain, ReleasedDomain, SsoConfig, User, domain_problem, \
    normalise_domain, utcnow
from portal.sso.urls import sp_urls

_EMAIL_DOMAIN = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
# Mailbox providers: claiming one would send strangers' logins to this account's IdP.
PUBLIC_EMAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com", "icloud.com",
    "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.net", "gmx.de", "web.de", "mail.com",
    "yandex.com", "yandex.ru", "mail.ru", "zoho.com", "fastmail.com", "qq.com", "163.com",
})


def held_problem(domain: str, account_id: int | None, now: datetime | None = None) -> str | None:
    """Why domain cannot be taken by account_id (None: a new account) while it is held, or None."""
    hold = db.session.get(ReleasedDomain, domain)
    if hold is None or hold.held_until <= (now or utcnow()):
        return None
    if account_id is not None and hold.account_id == account_id:
        return None  # the releasing account takes its own domain back
    return (f"The custom domain '{domain}' was released by another account and is held until "
            f"{hold.held_until:%Y-%m-%d}; choose another custom domain.")


def take_domain(domain: str, account: Account) -> None:
    """Drop the hold on domain now that account uses it (a hold that expired, or the releaser's own)."""
    db.session.execute(delete(ReleasedDomain).where(ReleasedDomain.domain == domain))


def release_domain(account: Account, domain: str, now: datetime | None = None) -> datetime | None:
    """Hold domain, which account gives up (rename; account deletion must call it too); returns the hold's end."""
    days = current_app.config["DOMAIN_QUARANTINE_DAYS"]
    if not days:
        return None
    now = now or utcnow()
    hold = db.session.get(ReleasedDomain, domain) or ReleasedDomain(domain=domain)
    hold.account_id, hold.released_at, hold.held_until = account.id, now, now + timedelta(days=days)
    db.session.add(hold)
    return hold.held_until


def change_domain(account: Account, value: str, actor=None, now: datetime | None = None) -> list[str]:
    """Change the account's custom domain (same rules as account creation); returns warnings (caller commits)."""
    domain = normalise_domain(value)
    if domain == account.domain:
        return []
    check_domain_change(account, domain, now)
    old = account.domain
    config = db.session.get(SsoConfig, account.id)
    try:
        with db.session.begin_nested():  # a concurrent change took the domain first: undo only this change
            account.domain = domain
            if config is not None:
                config.version = (config.version or 1) + 1  # the SP Entity ID and ACS URL changed
            take_domain(domain, account)
            held_until = release_domain(account, old, now)
    except IntegrityError:
        raise FieldErrors({"domain": f"The custom domain '{domain}' is already used by another account."}) from None
    audit.record(account, Event.ACCOUNT_DOMAIN_CHANGED, actor=actor, subject=domain,
                 changes={"domain": {"old": old, "new": domain}},
                 released_until=held_until.strftime("%Y-%m-%d") if held_until else None)
    if config is None or not config.enabled:
        return []
    urls = sp_urls(domain)
    return [f"SSO is enabled: your SP values changed. Update your IdP now or SSO logins will fail — in Okta set "
            f"Single sign on URL to {urls.acs_url} and Audience URI (SP Entity ID) to {urls.entity_id}."]


def check_domain_change(account: Account, value: str, now: datetime | None = None) -> None:
    """Raise FieldErrors when account may not take value as its custom domain; writes nothing."""
    domain = normalise_domain(value)
    if domain == account.domain:
        return
    problem = domain_problem(domain) or held_problem(domain, account.id, now)
    if problem:
        raise FieldErrors({"domain": problem})
    if Account.domain_taken(domain, except_id=account.id):
        raise FieldErrors({"domain": f"The custom domain '{domain}' is already used by another account."})


def check_claimed_email_domains(account: Account, values: list[str]) -> None:
    """Raise FieldErrors when account may not claim one of values; writes nothing."""
    for domain in sorted({v.strip().lower().lstrip("@") for v in values if v and v.strip()}):
        _check_email_domain(account, domain)


def claimed_email_domains(account: Account) -> list[str]:
    """The email domains /login/sso sends to this account, sorted."""
    return list(db.session.scalars(select(ClaimedEmailDomain.email_domain)
                                   .where(ClaimedEmailDomain.account_id == account.id)
                                   .order_by(ClaimedEmailDomain.email_domain)))


def set_claimed_email_domains(account: Account, values: list[str], actor=None) -> bool:
    """Make the claimed email domains exactly values; returns whether anything changed (caller commits)."""
    wanted = sorted({v.strip().lower().lstrip("@") for v in values if v and v.strip()})
    check_claimed_email_domains(account, wanted)
    old = claimed_email_domains(account)
    if old == wanted:
        return False
    rows = list(db.session.scalars(select(ClaimedEmailDomain).where(ClaimedEmailDomain.account_id == account.id)))
    try:
        with db.session.begin_nested():  # another account claimed one meanwhile: undo only this change
            for row in rows:
                if row.email_domain not in wanted:
                    db.session.delete(row)
            for domain in wanted:
                if domain not in old:
                    db.session.add(ClaimedEmailDomain(account_id=account.id, email_domain=domain))
    except IntegrityError:
        raise FieldErrors({"email_domains": "Another account claimed one of these email domains meanwhile."}) \
            from None
    audit.record(account, Event.SSO_EMAIL_DOMAINS_UPDATED, actor=actor, subject=account.domain,
                 changes={"email_domains": {"old": old, "new": wanted}})
    return True


def _check_email_domain(account: Account, domain: str) -> None:
    if not _EMAIL_DOMAIN.match(domain):
        raise FieldErrors({"email_domains": f"'{domain}' is not an email domain (for example acme.com)."})
    if domain in PUBLIC_EMAIL_DOMAINS:
        raise FieldErrors({"email_domains": f"'{domain}' is a public mailbox provider and cannot be claimed."})
    owner = db.session.scalar(select(ClaimedEmailDomain.account_id).where(ClaimedEmailDomain.email_domain == domain))
    if owner is not None and owner != account.id:
        raise FieldErrors({"email_domains": f"'{domain}' is already claimed by another account."})
    # Without a DNS proof, claim only domains the account already has people at, so an account cannot
    # steer strangers' SSO logins to its own IdP.
    users = db.session.scalar(select(func.count()).select_from(User).where(
        User.account_id == account.id, User.email.like(f"%@{domain}")))
    if not users:
        raise FieldErrors({"email_domains": f"No user of this account has an email at '{domain}'; add one first."})

