"""flask accounts ... and flask demo ...: accounts and the local demo account."""
from __future__ import annotations

import secrets

import click

from portal.accounts import service
from portal.cli import PortalGroup, echo, emit, run
from portal.directory import users
from portal.models import Account, iso

accounts_cli = PortalGroup("accounts", help="Create, list and delete accounts.")

DEMO_DOMAIN = "demo"
DEMO_ADMIN = "admin@demo.test"


@accounts_cli.command("create")
@click.option("--name", required=True, help="Display name of the account.")
@click.option("--domain", required=True, help="Custom domain: a-z, 0-9 and -, 3 to 63 characters.")
@click.option("--admin-email", required=True, help="Email of the first Account admin.")
@click.option("--admin-password", help="Password of the first admin (omit for an SSO-only admin).")
def accounts_create(name, domain, admin_email, admin_password):
    """Create an account and its first Account admin."""
    account, admin = run(lambda: service.create_account(name, domain, admin_email, admin_password))
    echo(f"Created account '{account.name}' (custom domain {account.domain}) "
               f"with Account admin {admin.email}.")


@accounts_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def accounts_list(as_json):
    """List accounts."""
    rows = [{"name": a.name, "domain": a.domain, "created_at": iso(a.created_at),
             "sso_enabled": bool(a.sso_config and a.sso_config.enabled)} for a in service.list_accounts()]
    emit(rows, as_json, ["domain", "name", "sso_enabled", "created_at"])


@accounts_cli.command("delete")
@click.argument("domain")
@click.option("--yes", is_flag=True, help="Confirm: the account, its users, teams, SSO settings and audit log go.")
def accounts_delete(domain, yes):
    """Delete an account and everything of it; its custom domain is held for PORTAL_DOMAIN_QUARANTINE_DAYS."""
    account = run(lambda: service.get_account(domain))
    if not yes:
        raise click.ClickException(
            f"This deletes the account '{account.name}' ({account.domain}) with all its users, teams, SSO settings "
            f"and audit log, for good. Run again with --yes to confirm.")
    domain = account.domain
    users, held_until = run(lambda: service.delete_account(domain))
    held = f"; its custom domain is held until {held_until:%Y-%m-%d}" if held_until else ""
    echo(f"Deleted the account {domain} and its {users} user(s){held}.")


demo_cli = PortalGroup("demo", help="The demo account for trying the portal locally.")


@demo_cli.command("setup")
@click.option("--password", help="Admin password to set (default: a new random one).")
def demo_setup(password):
    """Create (or reset) the demo account 'demo' and print its admin's email and password."""
    password = password or secrets.token_urlsafe(9)

    def setup():
        account = Account.by_domain(DEMO_DOMAIN)
        if account is None:
            account, admin = service.create_account("Demo Company", DEMO_DOMAIN, DEMO_ADMIN, password)
        else:
            admin = users.get_user(account, DEMO_ADMIN)
            users.set_password(admin, password)
            users.set_active(account, admin, True)
        return account, admin

    account, admin = run(setup)
    echo(f"Demo account '{account.domain}': sign in at /login as {admin.email} with password {password}")


GROUPS = [accounts_cli, demo_cli]
