"""flask teams ...: teams, manual memberships and role grants for operators."""
from __future__ import annotations

from collections.abc import Callable

import click

from portal.accounts import get_account
from portal.admin import services
from portal.cli import PortalGroup, emit
from portal.cli import run as base_run

teams_cli = PortalGroup("teams", help="List teams, manage manual members, grant and revoke roles.")


def run(action: Callable):
    """portal.cli.run, keeping the audit event of a refusal."""
    return base_run(action, keep_refusal_audit=True)


@teams_cli.command("list")
@click.argument("domain")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def teams_list(domain, as_json):
    """List the teams of an account: name, source, members, roles."""
    account = run(lambda: get_account(domain))
    rows = [{"name": t.name, "source": t.source, "members": services.member_count(t),
             "roles": [r.name for r in t.roles]} for t in services.list_teams(account)]
    emit(rows, as_json, ["name", "source", "members", "roles"])


@teams_cli.command("add-member")
@click.argument("domain")
@click.argument("team")
@click.argument("email")
def teams_add_member(domain, team, email):
    """Add a user to a team by hand (a manual membership; SSO sync never removes it)."""
    membership, found = run(lambda: _with_team(domain, team, lambda a, t: services.add_member(a, t, email)))
    click.echo(f"Added {membership.user.email} to '{found.name}' (manual membership).")


@teams_cli.command("remove-member")
@click.argument("domain")
@click.argument("team")
@click.argument("email")
def teams_remove_member(domain, team, email):
    """Remove a manual membership (SSO memberships follow the IdP group)."""
    _, found = run(lambda: _with_team(domain, team, lambda a, t: services.remove_member(a, t, email)))
    click.echo(f"Removed {email.strip().lower()} from '{found.name}'.")


@teams_cli.command("grant")
@click.argument("domain")
@click.argument("team")
@click.argument("role")
def teams_grant(domain, team, role):
    """Grant a role to a team (its members get it at once)."""
    granted, found = run(lambda: _with_team(domain, team, lambda a, t: services.grant_team_role(a, t, role)))
    click.echo(f"Granted {granted.name} to '{found.name}'; its members have it now.")


@teams_cli.command("revoke")
@click.argument("domain")
@click.argument("team")
@click.argument("role")
def teams_revoke(domain, team, role):
    """Revoke a role from a team."""
    revoked, found = run(lambda: _with_team(domain, team, lambda a, t: services.revoke_team_role(a, t, role)))
    click.echo(f"Revoked {revoked.name} from '{found.name}'.")


def _with_team(domain: str, team_name: str, action: Callable) -> tuple:
    """Resolve the account and its team, run action(account, team); return (its result, the team)."""
    account = get_account(domain)
    team = services.get_team(account, team_name)
    return action(account, team), team


GROUPS = [teams_cli]
