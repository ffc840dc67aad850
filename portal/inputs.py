"""Values no field accepts, refused at the door: NUL characters and numbers or dates past what the database holds.

PostgreSQL cannot store a NUL character in text (SQLite would store it silently), ids are 32-bit there, and
Python's dates end at 9999-12-31: without these checks such input reached the database or date arithmetic
and ended in a 500 or a traceback. Refusing it in one place keeps every form, filter and command answering
with a message instead.
"""
from __future__ import annotations

from itertools import chain

from flask import Flask, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # PostgreSQL INTEGER: the ids in URLs (users, teams, certificates, tokens, email domains)
MAX_BIGINT = 2**63 - 1  # audit event ids
NUL_MESSAGE = "contains a NUL character (\\0), which no field accepts: remove it and try again."


class IdConverter(IntegerConverter):
    """`<int:…>` in URLs: an id past MAX_ID matches no route (404), as an unknown id does."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


class NulInRequest(BadRequest):
    description = f"The request {NUL_MESSAGE}"


def install(app: Flask, skip_blueprints: frozenset[str], body_read_by: frozenset[str]) -> None:
    """Bound `<int:…>` URL parts, and answer 400 to a path, query or form value with a NUL.

    skip_blueprints check their requests themselves (SCIM answers in its own error shape); body_read_by are
    endpoints that cap and read their own body (the ACS throttles before it reads a byte), so only their path
    and query are checked here.
    """
    app.url_map.converters["int"] = IdConverter

    @app.before_request
    def refuse_nul():
        if request.blueprint in skip_blueprints:
            return
        values = chain(request.args.listvalues(), () if request.method != "POST" or request.endpoint in body_read_by
                       else request.form.listvalues())
        if "\x00" in request.path or any("\x00" in v for v in chain.from_iterable(values)):
            raise NulInRequest()


def storable(text: str) -> bool:
    """Whether both databases can store text: no NUL, no unpaired surrogate (JSON's "\\ud800" decodes to one)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """text safe to store and show: NUL and unpaired surrogates written as escapes (for audit subjects, messages)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def clamp(value: int | None, bound: int = MAX_BIGINT) -> int | None:
    """A number from a query string (a cursor, a page) within ±bound, what the database holds (None stays None)."""
    return None if value is None else max(-bound, min(bound, value))
