"""The SCIM 2.0 service at {PORTAL_BASE_URL}/scim/v2/{domain}: bearer auth, its own routing and error answers.

One view takes every path and method under the base URL, so unknown paths (404), wrong methods (405), the
body cap (413) and throttling (429) all answer with the RFC 7644 §3.12 error body, never an HTML page.
The account comes from the token, which must belong to the account of the URL.
"""
from __future__ import annotations

import functools

import orjson
from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import RequestEntityTooLarge

from portal import audit, dbping
from portal.audit import Event
from portal.directory.scim import ProvisioningRefused
from portal.errors import ServiceError
from portal.extensions import csrf, db, limiter
from portal.inputs import printable
from portal.scim import endpoints, tokens
from portal.scim.errors import ScimError, answer

bp = Blueprint("scim", __name__)
# A bearer-token JSON API: no cookie authenticates here, so there is no cross-site request to forge.
csrf.exempt(bp)

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@limiter.request_filter
def _scim_not_rate_limited_by_flask_limiter() -> bool:
    """SCIM throttles per token itself (tokens.throttle); skipping Flask-Limiter's per-request work saves time."""
    return request.blueprint == "scim"


@bp.route("/scim/v2/<domain>", defaults={"rest": ""}, methods=METHODS, provide_automatic_options=False,
          strict_slashes=False)
@bp.route("/scim/v2/<domain>/<path:rest>", methods=METHODS, provide_automatic_options=False)
def service(domain: str, rest: str):
    found: dict = {}  # the token and its account, once authenticated (refusals are filed under them)
    try:
        body = functools.cache(_body) if request.method in ("POST", "PUT", "PATCH") else None
        try:
            with dbping.unpinged():  # the pool's ping is a round trip per request: retry instead, below
                status, document, headers = _handle(domain, rest, body, found)
        except DBAPIError as exc:
            # SQLAlchemy does not recognise every way a dead connection fails (psycopg's "connection socket closed"
            # may come before the connection is marked broken), so any operational error gets the one retry.
            if not (exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError))):
                raise
            # The pooled connection had died (a database restart). Nothing can have been committed (the commit
            # comes after), so the request runs again, once, on a fresh connection that the pool pings. The
            # session's connections are discarded, not rolled back: a rollback on a broken one fails too.
            db.session().invalidate()  # the Session itself: its scoped proxy has no invalidate()
            status, document, headers = _handle(domain, rest, body, found)
        db.session.commit()
        return answer(status, document, headers)
    except ProvisioningRefused as exc:
        return _refused(ScimError(exc.status, exc.scim_type, str(exc)), found)
    except ScimError as exc:
        return _refused(exc, found)
    except ServiceError as exc:  # a directory rule outside the SCIM-specific ones
        return _refused(ScimError(400, "invalidValue", str(exc)), found)
    except DataError:  # a value the database cannot hold that no check caught: still bad input, not a 5xx
        db.session.rollback()
        return _refused(ScimError(400, "invalidValue", "A value in the request cannot be stored (out of range, "
                                                       "too long or an unusable character); nothing was changed."),
                        found)
    except (OperationalError, InterfaceError):
        db.session.rollback()
        current_app.logger.error("scim: database error")
        return answer(503, ScimError(503, None, "The database is unreachable; nothing was changed.").body())
    except Exception:  # a bug: still a SCIM answer, with nothing written
        db.session.rollback()
        current_app.logger.exception("scim: unexpected error")
        return answer(500, ScimError(500, None, "An unexpected error happened; nothing was changed.").body())


def _handle(domain: str, rest: str, body, found: dict):
    """Authenticate, throttle, route and run the handler: (status, JSON body, headers), uncommitted."""
    if request.method == "GET" and not db.session().in_transaction():  # (a test's session may be in use already)
        # A read writes nothing (but last_used_at): no BEGIN and COMMIT round trips around it. Under READ
        # COMMITTED each statement has its own snapshot inside a transaction too, so answers are the same.
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    authenticated = tokens.authenticate(domain, request.headers.get("Authorization"))
    if authenticated is None:
        raise ScimError(401, None, "A valid bearer token of this account is required.",
                        headers={"WWW-Authenticate": 'Bearer realm="SCIM"'})
    token, account = found["token"], found["account"] = authenticated
    wait = tokens.throttle(token)
    if wait is not None:
        raise ScimError(429, None, f"Too many requests for this token; retry in {wait} s.",
                        headers={"Retry-After": str(wait)})
    handler, args = endpoints.route(rest.rstrip("/"), request.method)
    return handler(account, token, body, *args)


def _body():
    """The request's JSON body: 413 over PORTAL_SCIM_MAX_BODY_BYTES, 400 invalidSyntax when it is not JSON."""
    cap = current_app.config["SCIM_MAX_BODY_BYTES"]
    too_large = ScimError(413, None, f"The request body is larger than {cap} bytes.")
    if request.content_length is not None and request.content_length > cap:
        raise too_large
    try:
        data = request.stream.read(cap + 1)
    except RequestEntityTooLarge:
        raise too_large from None
    if len(data) > cap:
        raise too_large
    if request.mimetype not in ("", "application/scim+json", "application/json"):
        raise ScimError(400, "invalidSyntax", "Send application/scim+json (or application/json).")
    try:
        # orjson: refuses what no attribute can hold (an unpaired surrogate, nesting over 1,024 levels, NaN),
        # where json.loads let them through to the database or raised RecursionError
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ScimError(400, "invalidSyntax", "The body is not valid JSON (UTF-8, no unpaired surrogates, "
                                              "nested at most 1,024 levels).") from None
    if b"\\u0000" in data and _has_nul(parsed):  # PostgreSQL cannot store a NUL character in text
        raise ScimError(400, "invalidValue", "A string in the body contains a NUL character (\\u0000), which no "
                                             "attribute accepts.")
    return parsed


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _refused(exc: ScimError, found: dict) -> Response:
    db.session.rollback()  # nothing half-written
    token, account = found.get("token"), found.get("account")
    audited = token is not None and (exc.status != 429 or tokens.first_refusal_in_window(
        token, int(exc.headers.get("Retry-After", "1"))))
    if audited:  # an unauthenticated request is not filed under any account: nobody floods an audit log
        # the path and the message may quote the request (an id, a value): stored with NUL and surrogates escaped
        audit.record(account, Event.SCIM_REQUEST_REFUSED, actor=token.actor, outcome="failure",
                     reason=exc.audit_reason, subject=printable(f"{request.method} {request.path}"[:500]),
                     status=exc.status, detail=printable(exc.detail[:1000]), token_id=token.id)
        db.session.commit()
    return answer(exc.status, exc.body(), exc.headers)
