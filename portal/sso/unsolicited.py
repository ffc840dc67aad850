"""IdP-initiated logins (an Okta dashboard tile): never accepted, restarted as an SP-initiated login instead.

A response without InResponseTo answers no request the portal made, so nothing in it is trusted or read
for the login: the ACS only audits it and sends the browser to the account's SP Initiation URL. The IdP
still has its session, so the SP-initiated round trip signs the person in without a prompt. The
response's RelayState (Okta's "Default RelayState") becomes the post-login target only if safe_next_path
accepts it, and only once that SP-initiated login has passed every check.

A broken IdP that answers the portal's AuthnRequests with unsolicited responses would bounce the browser
for ever; a small per-browser counter (a SameSite=Lax cookie, which the top-level GET to the SP
Initiation URL carries even after the IdP's cross-site post) stops it after MAX_RESTARTS in a row.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from portal import audit
from portal.audit import Event
from portal.models import AccountView, utcnow
from portal.security import safe_next_path
from portal.sso import flood
from portal.sso.reasons import Reason, new_reference
from portal.sso.urls import sp_urls

COOKIE = "portal_sso_restarts"
MAX_RESTARTS = 3  # restarts of one browser within WINDOW seconds, without a completed login in between
WINDOW = 120
FLAG = "restarted"  # query parameter of the SP Initiation URL the ACS sends the browser to


@dataclass(frozen=True)
class Restart:
    """The ACS sends the browser through an SP-initiated login; next_url is where it lands afterwards."""
    next_url: str
    reference: str


def restart(account: AccountView, sent: dict, relay_state: str | None, now: datetime | None = None, *,
            response) -> Restart:
    """Audit an unsolicited response as restarted; the Restart the ACS answers with (caller commits)."""
    now = now or utcnow()
    judged = safe_next_path(relay_state)
    target = judged or "/"
    reference = new_reference()
    details = {"relay_state": (relay_state or "")[:300], "next_url": target,
               "relay_state_refused": bool(relay_state) and judged is None}
    # Anyone can post to an ACS; an unsolicited post not even signed by the account's IdP is the poster's
    # text, so it is bounded and, past the per-account rate, only counted (as refused posts are).
    if flood.unsigned(account, sent, False, Reason.UNSOLICITED_RESTARTED, response):
        over = flood.over_rate(account, now)
        if over:
            audit.tally(account, Event.SSO_LOGIN_FAILURES_COUNTED, window=f"{now:%Y-%m-%dT%H:%M}", count=over,
                        last_reason=Reason.UNSOLICITED_RESTARTED.value)
            return Restart(target, reference)
        sent, details = flood.bounded(sent), flood.bounded_details(details)
    fix = Reason.UNSOLICITED_RESTARTED.fix_for(_values(account))
    audit.record(account, Event.SSO_UNSOLICITED_RESTARTED, actor=None, outcome="warning",
                 reason=Reason.UNSOLICITED_RESTARTED, subject=(sent.get("nameid") or "")[:320],
                 reference=reference, fix=fix, sent=sent, **details)
    return Restart(target, reference)


def restarts(cookie: str | None) -> int:
    """How many restarts this browser made in the last WINDOW seconds (its cookie; 0 when absent or odd)."""
    return int(cookie) if cookie and cookie.isdigit() and len(cookie) < 4 else 0


def stop(account: AccountView, count: int, now: datetime | None = None):
    """Audit the refusal of one more restart (the IdP keeps answering with unsolicited responses); its reference."""
    now = now or utcnow()
    reference = new_reference()
    # The counter is the browser's own cookie, so a stranger can fake it: past the rate, only count.
    over = flood.over_rate(account, now)
    if over:
        audit.tally(account, Event.SSO_LOGIN_FAILURES_COUNTED, window=f"{now:%Y-%m-%dT%H:%M}", count=over,
                    last_reason=Reason.UNSOLICITED_RESPONSE.value)
        return reference
    audit.record(account, Event.SSO_LOGIN, actor=None, outcome="failure", reason=Reason.UNSOLICITED_RESPONSE,
                 reference=reference, restarts=count, fix=Reason.UNSOLICITED_RESPONSE.fix_for(
                     {**_values(account), "restarts": count}),
                 problem=f"{count} unsolicited responses in a row from this browser")
    return reference


def count_restart(response, count: int):
    """Set the browser's restart counter to count + 1 on response (the redirect to the IdP)."""
    response.set_cookie(COOKIE, str(count + 1), max_age=WINDOW, path="/login/saml/", httponly=True,
                        secure=current_app.config["BASE_URL"].startswith("https://"), samesite="Lax")
    return response


def clear(response):
    """Forget the browser's restart counter (its login completed)."""
    response.delete_cookie(COOKIE, path="/login/saml/")
    return response


def _values(account: AccountView) -> dict:
    urls = sp_urls(account.domain)
    return {"sp_initiation_url": urls.initiation_url, "acs_url": urls.acs_url, "max_restarts": MAX_RESTARTS,
            "window": WINDOW}
