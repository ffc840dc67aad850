"""The account's custom domain: change, release (held for a quarantine) and take back."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.audit import Event
from portal.errors import FieldErrors
from portal.extensions import db
from portal.models import Account, ReleasedDomain, SsoConfig, domain_problem, normalise_domain, utcnow
from portal.sso.setup import changes
from portal.sso.urls import sp_urls


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
            changes.record(account, config, {}, also_changed=True)  # the SP Entity ID and ACS URL changed
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

