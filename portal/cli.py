"""What every CLI group shares: PortalGroup (database errors as one line), run() and emit()."""
from __future__ import annotations

import json
from collections.abc import Callable

import click
from flask.cli import AppGroup
from sqlalchemy.exc import OperationalError

from portal.errors import ServiceError
from portal.extensions import db



class PortalGroup(AppGroup):
    """A command group whose database failures end in one line, not a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except OperationalError as exc:
            db.session.rollback()
            hint = " Has the database been created? Run: flask db upgrade" if "no such table" in str(exc) or \
                "does not exist" in str(exc) else ""
            raise click.ClickException(f"database error: {str(exc.orig).splitlines()[0]}.{hint}") from None




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
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("(none)")
        return
    cells = [[_cell(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip())
    for r in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())


def _cell(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    if value is None or value == "":
        return "-"
    return str(value)
