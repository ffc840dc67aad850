"""Refused responses not signed by the account's IdP: a bounded summary, and counted past a per-account rate.

Anyone can post to an account's ACS. What such a post carries is the poster's text, not the IdP's, so
its audit event keeps at most MAX_UNSIGNED_SUMMARY characters of it, and past
PORTAL_ACS_UNSIGNED_FAILURES_PER_MINUTE such failures in a minute they are only counted, in one event
per account and minute: a flood cannot push the real failures out of "Recent SSO logins".
"""
from __future__ import annotations

import json
from datetime import datetime

from flask import current_app

from portal.extensions import limiter
from portal.models import AccountView
from portal.sso import saml
from portal.sso.reasons import Reason

MAX_UNSIGNED_SUMMARY = 2048  # characters of JSON of the `sent` summary
MAX_DETAIL_TEXT = 300  # any other text detail of such an event
_KEY_FACTS = ("issuer", "destination", "in_response_to", "nameid", "status", "assertion_count")


def unsigned(account: AccountView, sent: dict, answered: bool, reason: Reason, response) -> bool:
    """Whether a refused response was not signed by one of the account's certificates (a verified signature).

    response: the parsed response (None when it did not parse). The certificate its KeyInfo names only
    decides whether a verification is worth trying; the signature must verify against that certificate.
    """
    if answered:  # it passed validation, signature included
        return False
    if reason is Reason.SIGNATURE_INVALID or response is None:
        return True
    config = account.sso_config
    claimed = {s.get("certificate_sha256") for s in sent.get("signatures", []) if isinstance(s, dict)}
    named = [c.pem for c in (config.certificates if config is not None else ()) if c.sha256_fingerprint in claimed]
    return not saml.signed_by(response, named)


def over_rate(account: AccountView, now: datetime) -> int:
    """Count one unsigned failure of account in now's minute; how many are past the rate (0: within it)."""
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    key = f"{prefix}/acs-unsigned/{account.id}/{now:%Y%m%d%H%M}"
    count = limiter.limiter.storage.incr(key, 120)  # atomic in memory and in Redis
    return max(0, count - current_app.config["ACS_UNSIGNED_FAILURES_PER_MINUTE"])


def bounded(sent: dict) -> dict:
    """sent cut to at most MAX_UNSIGNED_SUMMARY characters of JSON."""
    if _size(sent) <= MAX_UNSIGNED_SUMMARY:
        return sent
    small = {key: _cut(sent[key], 200) for key in _KEY_FACTS if key in sent} | {"trimmed": True}
    if _size(small) <= MAX_UNSIGNED_SUMMARY:
        return small
    return {"trimmed": True}


def bounded_details(details: dict) -> dict:
    """Other details of such an event with each text cut to MAX_DETAIL_TEXT characters."""
    return {key: _cut(value, MAX_DETAIL_TEXT) for key, value in details.items()}


def _cut(value, limit: int):
    return value[:limit] + "…" if isinstance(value, str) and len(value) > limit else value


def _size(value) -> int:
    return len(json.dumps(value, default=str))
