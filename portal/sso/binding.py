"""Login CSRF for SAML: an IdP response is accepted only from the browser that started its login.

start_login's redirect sets a short-lived cookie holding an HMAC of the AuthnRequest ID (a few, for logins
started in several tabs); the ACS requires the response's InResponseTo to match one. Without it, an attacker
could make a victim's browser post the attacker's own valid response and swap the victim's session.
The IdP's post to the ACS is cross-site, so the cookie must be SameSite=None, which browsers accept only
with Secure: on a plain-http base URL (the local try-out on loopback) no such cookie can exist and the
check is skipped (README, "Single sign-on on plain http").
"""
from __future__ import annotations

import hashlib
import hmac

from flask import current_app

COOKIE = "portal_sso_binding"
KEEP = 5  # logins a browser may have under way at once (tabs)


def enforced() -> bool:
    """Whether responses must be bound to the browser (https base URL)."""
    return current_app.config["BASE_URL"].startswith("https://")


def tag(request_id: str) -> str:
    """The browser's proof of having started the login with this AuthnRequest ID."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"sso-binding:" + request_id.encode(), hashlib.sha256).hexdigest()[:32]


def proofs(cookie: str | None) -> frozenset[str] | None:
    """The tags a browser sent (None when the check is not enforced)."""
    if not enforced():
        return None
    return frozenset((cookie or "").split(".")[:KEEP])


def set_cookie(response, request_id: str, cookie: str | None):
    """Add this login's tag to the browser's cookie, keeping the tags of its other logins under way.

    Path "/": the logins start at /login/saml/<domain> and at Test SSO, and every start must see the earlier tags.
    """
    if enforced():
        tags = [tag(request_id)] + [t for t in (cookie or "").split(".") if t][:KEEP - 1]
        response.set_cookie(COOKIE, ".".join(tags), max_age=current_app.config["SAML_REQUEST_TTL"],
                            path="/", secure=True, httponly=True, samesite="None")
    return response
