"""What every CLI group shares: PortalGroup (database errors as one line), run(), echo() and emit()."""
from __future__ import annotations

import json
import re
from collections.abc import Callable

import click
from flask.cli import AppGroup
from sqlalchemy.exc import DataError, OperationalError

from portal.errors import ServiceError
from portal.extensions import db
from portal.inputs import NUL_MESSAGE

# Stored data comes from account admins and their IdPs (team and user names, audit details). Printed raw,
# an ESC/OSC sequence could retitle the operator's terminal, hide lines, plant hyperlinks or, on some
# terminals, answer back as typed input; bidi controls reorder what the operator reads. Every byte of
# CLI output therefore passes through clean(), which shows such characters as \uXXXX escapes (a form
# that also stays valid inside a JSON string).
_BIDI_CONTROLS = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_ESCAPES = {code: f"\\u{code:04x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0), *_BIDI_CONTROLS)}
_ESCAPES_KEEPING_LINES = {code: text for code, text in _ESCAPES.items() if chr(code) not in "\n\r\t"}
_LONE_CR = re.compile(r"\r(?!\n)")  # a carriage return alone would let the rest of a line overwrite its start


def clean(text: str, keep_lines: bool = True) -> str:
    """text with control characters shown as \\uXXXX; newlines (LF, CRLF) and tabs kept when keep_lines."""
    if not keep_lines:
        return text.translate(_ESCAPES)
    return _LONE_CR.sub(r"\\u000d", text.translate(_ESCAPES_KEEPING_LINES))


def echo(message="", err: bool = False, nl: bool = True) -> None:
    """click.echo for CLI output that may carry stored data: control characters escaped."""
    click.echo(clean(str(message)), err=err, nl=nl)


class PortalGroup(AppGroup):
    """A command group whose database failures end in one line, not a traceback, and whose errors are clean."""

    def invoke(self, ctx):
        if any("\x00" in arg for arg in (*ctx._protected_args, *ctx.args)):
            raise click.UsageError(f"An argument {NUL_MESSAGE}")
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            exc.message = clean(str(exc.message))  # an error may quote stored data (a team name, an email)
            raise
        except OperationalError as exc:
            db.session.rollback()
            hint = " Has the database been created? Run: flask db upgrade" if "no such table" in str(exc) or \
                "does not exist" in str(exc) else ""
            raise click.ClickException(f"database error: {str(exc.orig).splitlines()[0]}.{hint}") from None
        except DataError as exc:  # a value the database cannot hold that no check caught: still one line
            db.session.rollback()
            raise click.ClickException(f"the database refused a value: {str(exc.orig).splitlines()[0]}. "
                                       f"Nothing was changed.") from None




def run(action: Callable, keep_refusal_audit: bool = False):
    """Run a service call and commit; a ServiceError becomes a one-line error and exit 1.

    On a refusal nothing is committed, unless keep_refusal_audit: services that check before they write
    (the admin services) audit their refusals, and committing then keeps only that audit event.
    """
    try:
        result = action()
    except ServiceError as exc:
        if keep_refusal_audit:
            db.session.commit()
        else:
            db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    return result


def emit(rows: list[dict], as_json: bool, columns: list[str]) -> None:
    """Print rows as a JSON array or an aligned table."""
    if as_json:
        echo(json.dumps(rows, indent=2))
        return
    if not rows:
        echo("(none)")
        return
    cells = [[_cell(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip())
    for r in cells:
        echo("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())


def _cell(value) -> str:
    if isinstance(value, list):
        return clean(", ".join(str(v) for v in value), keep_lines=False) or "-"
    if value is None or value == "":
        return "-"
    return clean(str(value), keep_lines=False)  # a newline inside a cell would forge a row
