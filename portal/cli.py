"""Operator CLI: flask accounts ..., flask users ..."""
from __future__ import annotations

import json
import secrets
from collections.abc import Callable

import click
from flask.cli import AppGroup
from sqlalchemy.exc import OperationalError

from portal import accounts as service
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import Account, iso



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


accounts_cli = PortalGroup("accounts", help="Create and list accounts.")
users_cli = PortalGroup("users", help="Create, list, deactivate and reactivate users.")

DEMO_DOMAIN = "demo"
DEMO_ADMIN = "admin@demo.test"


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


@accounts_cli.command("create")
@click.option("--name", required=True, help="Display name of the account.")
@click.option("--domain", required=True, help="Custom domain: a-z, 0-9 and -, 3 to 63 characters.")
@click.option("--admin-email", required=True, help="Email of the first Account admin.")
@click.option("--admin-password", help="Password of the first admin (omit for an SSO-only admin).")
def accounts_create(name, domain, admin_email, admin_password):
    """Create an account and its first Account admin."""
    account, admin = run(lambda: service.create_account(name, domain, admin_email, admin_password))
    click.echo(f"Created account '{account.name}' (custom domain {account.domain}) "
               f"with Account admin {admin.email}.")


@accounts_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def accounts_list(as_json):
    """List accounts."""
    rows = [{"name": a.name, "domain": a.domain, "created_at": iso(a.created_at),
             "sso_enabled": bool(a.sso_config and a.sso_config.enabled)} for a in service.list_accounts()]
    emit(rows, as_json, ["domain", "name", "sso_enabled", "created_at"])


@users_cli.command("create")
@click.option("--domain", required=True, help="Custom domain of the account.")
@click.option("--email", required=True)
@click.option("--password", help="Password (omit for a user who signs in with SSO only).")
@click.option("--role", help="A role to grant, e.g. 'Account admin' or Developer.")
@click.option("--name", default="", help="Display name.")
def users_create(domain, email, password, role, name):
    """Create a user in an account."""
    user = run(lambda: service.create_user(service.get_account(domain), email, password=password,
                                           role=role, name=name, via="cli"))
    click.echo(f"Created user {user.email} in account {user.account.domain}.")


@users_cli.command("list")
@click.argument("domain")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def users_list(domain, as_json):
    """List the users of an account."""
    account = run(lambda: service.get_account(domain))
    rows = [{"email": u.email, "name": u.name, "active": u.active, "created_via": u.created_via,
             "last_login": iso(u.last_login_at), "last_sso_login": iso(u.last_sso_login_at),
             "teams": [t.name for t in u.teams], "roles": [r.name for r in u.effective_roles()]}
            for u in service.list_users(account)]
    emit(rows, as_json, ["email", "name", "active", "created_via", "last_login", "teams", "roles"])


@users_cli.command("deactivate")
@click.argument("domain")
@click.argument("email")
def users_deactivate(domain, email):
    """Deactivate a user: no password or SSO login until reactivated."""
    user = run(lambda: _set_active(domain, email, False))
    click.echo(f"Deactivated {user.email}.")


@users_cli.command("reactivate")
@click.argument("domain")
@click.argument("email")
def users_reactivate(domain, email):
    """Reactivate a deactivated user."""
    user = run(lambda: _set_active(domain, email, True))
    click.echo(f"Reactivated {user.email}.")


def _set_active(domain: str, email: str, active: bool):
    user = service.get_user(service.get_account(domain), email)
    service.set_active(user, active)
    return user


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
            admin = service.get_user(account, DEMO_ADMIN)
            admin.set_password(password)
            admin.active = True
        return account, admin

    account, admin = run(setup)
    click.echo(f"Demo account '{account.domain}': sign in at /login as {admin.email} with password {password}")


GROUPS = [accounts_cli, users_cli, demo_cli]
