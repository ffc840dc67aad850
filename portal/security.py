"""HTTP security headers and redirect-target checks."""
from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

from flask import Flask, current_app
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")

ALWAYS = (("Content-Security-Policy", CSP), ("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"),
          ("Referrer-Policy", "same-origin"), ("Cross-Origin-Opener-Policy", "same-origin"))

# GET pages that send the browser off the portal (to an IdP): never a place to land after signing in.
OFF_SITE_ENDPOINTS = frozenset({"sso.start"})


# What a path may keep unencoded when the judged form is written back out (RFC 3986 pchar and "/"); "%" is not
# among them, so a literal "%" the router saw stays a literal "%" after the browser's one decoding.
_PATH_SAFE = "/!$&'()*+,;=:@-._~"


def remove_dot_segments(path: str) -> str:
    """path with "." and ".." segments resolved as RFC 3986 section 5.2.4 says (what a browser sends)."""
    out: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments[1:], start=1):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                out.append("")
        elif segment == "..":
            if out:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(segment)
    return "/" + "/".join(out)


def safe_next_path(target: str | None) -> str | None:
    """The judged, re-encoded form of target if it routes to a page inside the portal that stays inside it, else None.

    The rule is decided on the path the portal will route: percent-decoded (as the WSGI server decodes PATH_INFO,
    %2F included) and with dot segments removed (as a browser resolves them, %2E included). That form, encoded
    again, is what the caller stores and redirects to, so what was judged is exactly what is used.
    """
    if not target or len(target) > 2000 or any(ch in target for ch in "\\\r\n\t\x00"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    try:
        routed = unquote(parts.path, errors="strict")
    except UnicodeDecodeError:
        return None
    routed = remove_dot_segments(routed)
    if routed.startswith("//") or "\\" in routed or not routed.isprintable():  # control characters are unprintable
        return None
    judged = quote(routed, safe=_PATH_SAFE) + (f"?{parts.query}" if parts.query else "")
    try:
        endpoint, _args = current_app.url_map.bind("portal.invalid").match(routed, method="GET")
    except (NotFound, MethodNotAllowed):
        return judged  # no page there: a harmless 404 or 405 inside the portal
    except RequestRedirect:
        return None  # e.g. a trailing slash: the page it redirects to is not checked here, so refuse
    return None if endpoint in OFF_SITE_ENDPOINTS else judged


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
