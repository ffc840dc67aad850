"""Domain exceptions and the HTTP error pages."""
from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from portal.extensions import db
from portal.permissions import PERMISSIONS, PermissionDenied


class PortalError(Exception):
    """Base of the portal's domain errors: the message is safe to show, reason (if any) is the audit code."""

    reason = None


class ServiceError(PortalError):
    """A business rule refused the operation; the message is safe to show the user."""


class FieldErrors(ServiceError):
    """Input refused field by field: errors maps a form field's name to its message."""

    labels: dict[str, str] = {}  # subclasses name their fields for the one-line message (CLI)

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__(" ".join(f"{self.labels[k]}: {v}" if k in self.labels else v for k, v in errors.items()))


TITLES = {
    400: "Bad request",
    403: "Forbidden",
    404: "Page not found",
    405: "Method not allowed",
    413: "Request too large",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def _page(code: int, message: str, **extra):
    return render_template("errors/error.html", code=code, title=TITLES.get(code, "Error"),
                           message=message, **extra), code


def register(app: Flask) -> None:
    """Install the error handlers: every error is a page, never a traceback."""

    @app.errorhandler(PermissionDenied)
    def forbidden(exc: PermissionDenied):
        if exc.permission:
            label = PERMISSIONS.get(exc.permission, exc.permission)
            message = (f"You need the permission “{label}” ({exc.permission}) to open this page. "
                       "Ask an Account admin of your account to grant you a role that has it.")
        else:
            message = exc.message or "You do not have access to this."
        return _page(403, message, permission=exc.permission)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return _page(400, "The form expired or was not sent from this site. Go back, reload the page "
                          "and try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith("/scim/v2/"):
            # Under the SCIM base URL every answer has the SCIM error body, even one routing gives before the
            # SCIM view runs (a method it does not route, such as TRACE: 405).
            from portal.scim.errors import ScimError, answer  # here: portal.scim imports this module
            body = ScimError(exc.code or 500, None, exc.description or TITLES.get(exc.code, "Error")).body()
            return answer(exc.code or 500, body, {k: v for k, v in exc.get_headers() if k.lower() == "allow"})
        cap = app.config.get("MAX_CONTENT_LENGTH") or 0
        messages = {
            404: "There is nothing at this address.",
            405: "This page does not accept that kind of request.",
            413: f"The request is larger than this page accepts ({cap // 1024 // 1024 or 1} MiB at most). A "
                 f"certificate or an IdP metadata file is a few kilobytes: check that you chose the right file, "
                 f"then go back and send it again.",
            429: "Too many attempts. Wait a minute and try again.",
        }
        return _page(exc.code or 500, messages.get(exc.code, exc.description or ""))

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_down(exc):
        # Connection lost or database unreachable: nothing was committed; the user can retry.
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone; the session is discarded anyway
            db.session.remove()
        app.logger.error("database error: %s", exc.__class__.__name__)
        return _page(503, "The portal cannot reach its database right now. Nothing was changed; "
                          "please try again in a moment.")

    @app.errorhandler(DataError)
    def value_refused(exc):
        # A value the database cannot hold (out of range, a character it refuses) that no check caught first:
        # still the user's input, so a 400 with nothing written, not a 500.
        db.session.rollback()
        app.logger.warning("database refused a value: %s", str(exc.orig).splitlines()[0])
        return _page(400, "A value you sent cannot be stored (it is out of range or contains a character "
                          "the portal does not accept). Nothing was changed; check the values and try again.")

    @app.errorhandler(500)
    def server_error(exc):
        return _page(500, "An unexpected error happened. Nothing was changed; please try again.")
