"""`flask sso-config refresh-metadata`: refresh accounts' IdP metadata URLs (for cron; exit 1 when one failed)."""
from __future__ import annotations

import click
from sqlalchemy import select

from portal.accounts.service import get_account
from portal.cli import echo
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import Account, SsoConfig
from portal.sso.setup import metadata_url


def refresh_and_record(account: Account, actor=None) -> metadata_url.RefreshOutcome | metadata_url.RefreshError:
    """Refresh one account and commit: its changes, or (after a rollback) only the failure's state and audit."""
    try:
        result = metadata_url.refresh(account, actor=actor)
    except metadata_url.RefreshError as exc:
        db.session.rollback()  # the refresh checks before it writes; this keeps a failure from leaving anything
        metadata_url.record_failure(account, exc, actor=actor)
        db.session.commit()
        return exc
    db.session.commit()
    return result


@click.command("refresh-metadata")
@click.argument("domain", required=False)
@click.option("--all", "all_accounts", is_flag=True, help="Every account with a Metadata URL.")
def refresh_metadata(domain, all_accounts):
    """Fetch the IdP metadata URL: add new certificates, drop ones gone past PORTAL_CERT_GRACE_DAYS."""
    if bool(domain) == all_accounts:
        raise click.UsageError("Give one DOMAIN or --all.")
    if all_accounts:
        accounts = list(db.session.scalars(select(Account).join(SsoConfig, SsoConfig.account_id == Account.id)
                                           .where(SsoConfig.idp_metadata_url.is_not(None)).order_by(Account.domain)))
    else:
        try:
            accounts = [get_account(domain)]
        except ServiceError as exc:
            raise click.ClickException(str(exc)) from None
    failed = 0
    for account in accounts:
        name = account.domain
        result = refresh_and_record(account)
        if isinstance(result, metadata_url.RefreshError):
            failed += 1
            echo(f"FAILED: {name}: [{result.reason.value}] {result}", err=True)
            continue
        outcome = result.outcome
        summary = ", ".join([f"added {len(outcome.added)}", f"removed {len(outcome.removed)}",
                             f"waiting for removal {len(result.pending_removal)}"]
                            + [f"{k} changed" for k in outcome.changes])
        echo(f"OK: {name}: {summary}.")
        for warning in outcome.warnings:
            echo(f"Warning: {name}: {warning}", err=True)
    if failed:
        click.get_current_context().exit(1)
