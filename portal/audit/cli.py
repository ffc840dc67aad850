"""flask audit ...: export and prune the audit log."""
from __future__ import annotations

import click
from flask import current_app

from portal import audit
from portal.audit import Event
from portal.accounts import service as accounts
from portal.audit import log as audit_log
from portal.cli import PortalGroup, echo, run
from portal.extensions import db

audit_cli = PortalGroup("audit", help="Export and prune audit events.")


@audit_cli.command("export")
@click.argument("domain")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--since", help="First UTC date included (YYYY-MM-DD).")
@click.option("--until", help="Last UTC date included (YYYY-MM-DD).")
@click.option("--type", "event_type", default="", help="Only this event type, e.g. login.saml.")
@click.option("--outcome", type=click.Choice(["success", "failure", "warning"]), help="Only this outcome.")
@click.option("--email", default="", help="Only events whose actor or subject is this email.")
def audit_export(domain, fmt, since, until, event_type, outcome, email):
    """Stream an account's audit events, newest first, to stdout as CSV or a JSON array."""
    def prepare():
        account = accounts.get_account(domain)
        filters = audit_log.make_filters(event_type, outcome or "", email,
                                         audit_log.parse_date(since, "--since date"),
                                         audit_log.parse_date(until, "--until date"))
        # Snapshot bound taken before this export's own event, which is therefore not in it.
        upto = audit_log.latest_id(account) or 0
        audit.record(account, Event.AUDIT_EXPORTED, actor=None, subject=account.domain, format=fmt, filters=filters.as_args(),
                     via="cli")
        return account, filters, upto

    account, filters, upto = run(prepare)
    chunks = (audit_log.export_csv if fmt == "csv" else audit_log.export_json)(account, filters, upto)
    for chunk in chunks:
        echo(chunk, nl=False)


@audit_cli.command("prune")
@click.option("--days", type=click.IntRange(min=1, max=36_500), help="Delete events older than this many days "
              "(default: PORTAL_AUDIT_RETENTION_DAYS).")
def audit_prune(days):
    """Delete audit events older than the retention period, in batches, across every account."""
    days = days if days is not None else current_app.config.get("AUDIT_RETENTION_DAYS")
    if days is None:
        echo("PORTAL_AUDIT_RETENTION_DAYS is not set: audit events are kept forever. "
                   "Nothing deleted (pass --days N to prune anyway).")
        return
    cutoff = audit_log.prune_cutoff(days)
    total = 0
    while True:
        deleted = audit_log.prune_batch(cutoff)
        db.session.commit()  # one short transaction per batch
        total += deleted
        if deleted < audit_log.PRUNE_BATCH:
            break
    audit.record(None, Event.AUDIT_PRUNED, actor=None, days=days, cutoff=audit_log.iso(cutoff), deleted=total)
    db.session.commit()
    echo(f"Deleted {total} audit event{'s' if total != 1 else ''} older than {days} days "
               f"(before {audit_log.iso(cutoff)}).")


GROUPS = [audit_cli]
