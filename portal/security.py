"""HTTP security headers and redirect-target checks."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")

ALWAYS = (("Content-Security-Policy", CSP), ("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"),
          ("Referrer-Policy", "same-origin"), ("Cross-Origin-Opener-Policy", "same-origin"))

# GET pages that send the browser off the portal (to an IdP): never a place to land after signing in.
OFF_SITE_ENDPOINTS = frozenset({"sso.start"})


def safe_next_path(target: str | None) -> str | None:
    """target if it is a path inside the portal whose page stays inside it, else None (no open redirects)."""
    if not target or len(target) > 2000 or any(ch in target for ch in "\\\r\n\t\x00"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    try:
        endpoint, _args = current_app.url_map.bind("portal.invalid").match(parts.path, method="GET")
    except (NotFound, MethodNotAllowed):
        return target  # no page there: a harmless 404 or 405 inside the portal
    except RequestRedirect:
        return None  # e.g. a trailing slash: the page it redirects to is not checked here, so refuse
    return None if endpoint in OFF_SITE_ENDPOINTS else target


def install(app: Flask) -> None:
    """Add the security headers to every response."""

    @app.after_request
    def headers(response):
        # One pass over the response's headers (six setdefault() calls scanned them six times): a view's own
        # value of any of these still wins.
        present = {key.lower() for key in response.headers.keys()}
        for key, value in ALWAYS:
            if key.lower() not in present:
                response.headers.add(key, value)
        if app.config["BASE_URL"].startswith("https://") and "strict-transport-security" not in present:
            response.headers.add("Strict-Transport-Security", "max-age=31536000")
        if response.mimetype == "text/html" and "cache-control" not in present:
            # Pages show account data; keep them out of shared caches.
            response.headers.add("Cache-Control", "no-store")
        return response
