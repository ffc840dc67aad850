"""flask scim token create|list|revoke: SCIM tokens for operators."""
from __future__ import annotations

import json

import click

from portal.accounts.service import get_account
from portal.cli import PortalGroup, emit, run
from portal.models import iso
from portal.scim import tokens

scim_cli = PortalGroup("scim", help="SCIM 2.0 provisioning (Okta, Entra ID): tokens.")
token_cli = PortalGroup("token", help="Create, list and revoke an account's SCIM tokens.")
scim_cli.add_command(token_cli)


@token_cli.command("create")
@click.argument("domain")
@click.option("--name", default=None, help="A name to recognise the token by (e.g. Okta).")
def token_create(domain, name):
    """Create a token and print only the token (it is shown once and stored only as a hash)."""
    _row, token = run(lambda: tokens.create_token(get_account(domain), name))
    click.echo(token)


@token_cli.command("list")
@click.argument("domain")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def token_list(domain, as_json):
    """List the account's active tokens: id, name, created_at, last_used_at (revoked ones are omitted)."""
    account = run(lambda: get_account(domain))
    rows = [{"id": t.id, "name": t.name, "created_at": iso(t.created_at), "last_used_at": iso(t.last_used_at)}
            for t in tokens.list_tokens(account)]
    if as_json:
        click.echo(json.dumps(rows))
        return
    emit(rows, False, ["id", "name", "created_at", "last_used_at"])


@token_cli.command("revoke")
@click.argument("domain")
@click.argument("token_id")
def token_revoke(domain, token_id):
    """Revoke a token: the IdP using it gets 401 from its next request."""
    row = run(lambda: tokens.revoke_token(get_account(domain), token_id))
    click.echo(f"Revoked SCIM token {row.id} ('{row.name}'); requests with it are refused from now on.")


GROUPS = [scim_cli]
