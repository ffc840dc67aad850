"""The IdP metadata URL: save it, refresh from it (certificate rollover with a grace period), report its state."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app

from portal import audit, ratelimits
from portal.audit import Event
from portal.audit.events import Reason
from portal.config import is_loopback_host
from portal.models import Account, IdpCertificate, iso, utcnow
from portal.sso.setup import settings
from portal.sso.setup.fetch import FetchError, FetchPolicy, check_url, fetch
from portal.sso.setup.metadata import MAX_METADATA_BYTES, MetadataError, parse_idp_metadata

FIELD = "idp_metadata_url"
LABEL = "Metadata URL"  # Okta's name for it (Sign On tab)


class RefreshError(FetchError):
    """A refresh failed; nothing was changed. record_failure() stores and audits it."""


@dataclass
class RefreshOutcome:
    outcome: settings.Outcome = field(default_factory=settings.Outcome)
    pending_removal: list[tuple[IdpCertificate, datetime]] = field(default_factory=list)  # (row, removed after)

    @property
    def changed(self) -> bool:
        return self.outcome.changed


def fetch_policy() -> FetchPolicy:
    """This portal's fetch limits; loopback only in the local try-out (a base URL on loopback)."""
    cfg = current_app.config
    return FetchPolicy(allow_loopback=is_loopback_host(urlsplit(cfg["BASE_URL"]).hostname),
                       ca_bundle=cfg["METADATA_CA_BUNDLE"], timeout=cfg["METADATA_FETCH_TIMEOUT"],
                       max_bytes=MAX_METADATA_BYTES)


def grace() -> timedelta:
    return timedelta(days=current_app.config["CERT_GRACE_DAYS"])


def set_url(account: Account, url: str, actor=None, now: datetime | None = None) -> RefreshOutcome:
    """Save the metadata URL ('' clears it) and refresh from it at once; nothing is saved when that fails."""
    config = settings.get_config(account)
    url = (url or "").strip()
    if not url:
        old = config.idp_metadata_url
        if old:
            audit.record(account, Event.SSO_METADATA_URL_SET, actor=actor, subject=account.domain, old=old, new=None)
            config.idp_metadata_url = None
            config.metadata_refreshed_at = config.metadata_refresh_error = config.metadata_refresh_reason = None
            return RefreshOutcome(settings.Outcome(changes={FIELD: (old, None)}))
        return RefreshOutcome()
    _check(url)
    try:
        result = refresh(account, actor=actor, now=now, url=url)
    except FetchError as exc:
        raise settings.SettingsError({FIELD: str(exc)}) from None
    if config.idp_metadata_url != url:
        audit.record(account, Event.SSO_METADATA_URL_SET, actor=actor, subject=account.domain,
                     old=config.idp_metadata_url, new=url)
        result.outcome.changes[FIELD] = (config.idp_metadata_url, url)
        config.idp_metadata_url = url
    return result


def _check(url: str) -> None:
    """What set_url refuses before fetching (SettingsError on the field)."""
    if len(url) > 2000 or any(c.isspace() for c in url):
        raise settings.SettingsError({FIELD: f"The {LABEL} is one URL without spaces, at most 2000 characters."})
    try:
        check_url(url, fetch_policy().allow_loopback)
    except FetchError as exc:
        raise settings.SettingsError({FIELD: str(exc)}) from None


def will_fetch(url: str | None) -> bool:
    """Whether saving url fetches it (not an empty value, nor one refused before any connection)."""
    url = (url or "").strip()
    try:
        _check(url)
    except settings.SettingsError:
        return False
    return bool(url)


def refresh(account: Account, actor=None, now: datetime | None = None, url: str | None = None) -> RefreshOutcome:
    """Apply the IdP's current metadata: new certificates at once, missing ones after the grace period.

    Raises RefreshError before writing anything; the caller rolls back, calls record_failure() and commits.
    """
    now = now or utcnow()
    config = settings.get_config(account)
    url = url or config.idp_metadata_url
    if not url:
        raise RefreshError(Reason.METADATA_URL_REFUSED, f"No {LABEL} is set for {account.domain}.")
    try:
        metadata = parse_idp_metadata(fetch(url, fetch_policy()), now=now)
    except FetchError as exc:
        raise RefreshError(exc.reason, str(exc)) from None
    except MetadataError as exc:
        raise RefreshError(Reason.METADATA_INVALID, f"The {LABEL} did not return usable IdP metadata: {exc}") \
            from None
    listed = {c.sha256_fingerprint for c in metadata.certificates}
    active = settings.active_certificates(account)
    current = {c.sha256_fingerprint for c in active}
    expired = [c for c in active if c.sha256_fingerprint not in listed and _gone_since(c, now) + grace() <= now]
    change = settings.SettingsChange(
        idp_login_url=metadata.sso_url, idp_issuer=metadata.entity_id,
        add_certificates=[c.pem for c in metadata.certificates if c.sha256_fingerprint not in current],
        remove_fingerprints=[c.sha256_fingerprint for c in expired])
    try:
        outcome = settings.apply(account, change, actor=actor, now=now)
    except settings.SettingsError as exc:
        raise RefreshError(Reason.METADATA_INVALID, "The IdP metadata cannot be applied: "
                           + " ".join(exc.errors.values())) from None
    for row in settings.active_certificates(account):
        if row.sha256_fingerprint in listed:
            row.last_seen_in_metadata_at = now
        elif row.last_seen_in_metadata_at is None:
            # Predates the URL: its grace starts now too, stamped just before this refresh so it reads as unlisted.
            row.last_seen_in_metadata_at = now - _TICK
    result = RefreshOutcome(outcome, pending_removal=pending_removal(account))
    outcome.warnings = metadata.warnings + outcome.warnings
    config.metadata_refreshed_at, config.metadata_refresh_error, config.metadata_refresh_reason = now, None, None
    if outcome.changed:
        audit.record(account, Event.SSO_METADATA_REFRESHED, actor=actor, subject=account.domain, url=url,
                     added=[c.sha256_fingerprint for c in outcome.added], removed=outcome.removed,
                     changes=sorted(outcome.changes),
                     pending_removal=[{"sha256_fingerprint": r.sha256_fingerprint, "after": iso(when)}
                                      for r, when in result.pending_removal])
    return result


def record_failure(account: Account, error: FetchError, actor=None, now: datetime | None = None) -> None:
    """Store and audit a failed refresh (the SSO page and `sso-config check` show it); the caller commits."""
    config = settings.get_config(account)
    config.metadata_refreshed_at = now or utcnow()
    config.metadata_refresh_error = str(error)[:2000]
    config.metadata_refresh_reason = error.reason.value
    audit.record(account, Event.SSO_METADATA_REFRESH_FAILED, actor=actor, outcome="failure",
                 reason=error.reason, subject=account.domain, url=config.idp_metadata_url, problem=str(error))


def pending_removal(account: Account) -> list[tuple[IdpCertificate, datetime]]:
    """Active certificates the last successful refresh did not list, with when a refresh may remove them."""
    config = settings.get_config(account)
    rows = [c for c in settings.active_certificates(account) if c.last_seen_in_metadata_at is not None]
    if not config.idp_metadata_url or not rows:
        return []
    # Every successful refresh stamps the certificates it lists, so the newest stamp is that refresh.
    latest = max(c.last_seen_in_metadata_at for c in rows)
    return [(c, c.last_seen_in_metadata_at + grace()) for c in rows if c.last_seen_in_metadata_at < latest]


def problems(account: Account) -> list[str]:
    """Why `sso-config check` must fail because of the metadata URL (empty when its last refresh worked)."""
    config = settings.get_config(account)
    if config.idp_metadata_url and config.metadata_refresh_error:
        return [f"The last refresh of the {LABEL} ({config.metadata_refreshed_at:%Y-%m-%d %H:%M} UTC) failed "
                f"[{config.metadata_refresh_reason}]: {config.metadata_refresh_error}"]
    return []


def notes(account: Account) -> list[str]:
    """One line per certificate gone from the metadata that a coming refresh will remove."""
    return [f"The IdP Signature Certificate {c.subject} ({c.sha256_fingerprint}) is no longer in the IdP metadata; "
            f"it is removed by the first refresh after {when:%Y-%m-%d %H:%M} UTC."
            for c, when in pending_removal(account)]


def state(account: Account) -> dict:
    """The metadata URL keys of `sso-config show --json`."""
    config = settings.get_config(account)
    return {"idp_metadata_url": config.idp_metadata_url,
            "metadata_refresh": {"last_attempt": iso(config.metadata_refreshed_at),
                                 "ok": None if config.metadata_refreshed_at is None
                                 else config.metadata_refresh_error is None,
                                 "reason": config.metadata_refresh_reason, "error": config.metadata_refresh_error}}


_TICK = timedelta(microseconds=1)


def _gone_since(row: IdpCertificate, now: datetime) -> datetime:
    return row.last_seen_in_metadata_at or now


def set_then_apply(account: Account, url: str | None, change: settings.SettingsChange, actor=None) -> settings.Outcome:
    """`sso-config set`: the metadata URL first (when given), so its values can complete the other changes."""
    outcome = settings.Outcome()
    if url is not None:
        outcome = set_url(account, url, actor=actor).outcome
    more = settings.apply(account, change, actor=actor)
    outcome.changes.update(more.changes)
    outcome.added += more.added
    outcome.removed += more.removed
    outcome.warnings += more.warnings
    return outcome


def page_fetch_wait(account) -> int | None:
    """Count a Metadata URL fetch an admin starts from the SSO page (so nobody makes the portal hammer a server):
    the seconds to wait when the account's fetches are used up, else None."""
    return ratelimits.hit(current_app.config["METADATA_FETCH_LIMIT"], "metadata-fetch", str(account.id))[0]


def too_many_fetches(wait: int) -> str:
    """What the page says when page_fetch_wait() refused."""
    return (f"The Metadata URL was fetched too often in a short time; nothing was fetched. Try again in {wait} s "
            f"(limit: {current_app.config['METADATA_FETCH_LIMIT']}).")
