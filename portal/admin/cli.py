"""flask teams ... and flask users ...: teams, memberships, role grants and users for operators."""
from __future__ import annotations

from collections.abc import Callable

import click

from portal.accounts.service import get_account
from portal.cli import PortalGroup, echo, emit
from portal.cli import run as base_run
from portal.directory import teams as services
from portal.directory import users
from portal.models import iso

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
    echo(f"Added {membership.user.email} to '{found.name}' (manual membership).")


@teams_cli.command("remove-member")
@click.argument("domain")
@click.argument("team")
@click.argument("email")
def teams_remove_member(domain, team, email):
    """Remove a manual membership (SSO memberships follow the IdP group)."""
    _, found = run(lambda: _with_team(domain, team, lambda a, t: services.remove_member(a, t, email)))
    echo(f"Removed {email.strip().lower()} from '{found.name}'.")


@teams_cli.command("grant")
@click.argument("domain")
@click.argument("team")
@click.argument("role")
def teams_grant(domain, team, role):
    """Grant a role to a team (its members get it at once)."""
    granted, found = run(lambda: _with_team(domain, team, lambda a, t: services.grant_role(a, t, role)))
    echo(f"Granted {granted.name} to '{found.name}'; its members have it now.")


@teams_cli.command("revoke")
@click.argument("domain")
@click.argument("team")
@click.argument("role")
def teams_revoke(domain, team, role):
    """Revoke a role from a team."""
    revoked, found = run(lambda: _with_team(domain, team, lambda a, t: services.revoke_role(a, t, role)))
    echo(f"Revoked {revoked.name} from '{found.name}'.")


def _with_team(domain: str, team_name: str, action: Callable) -> tuple:
    """Resolve the account and its team, run action(account, team); return (its result, the team)."""
    account = get_account(domain)
    team = services.get_team(account, team_name)
    return action(account, team), team


users_cli = PortalGroup("users", help="Create, list, deactivate, reactivate and sign out users; break-glass admins.")


@users_cli.command("create")
@click.option("--domain", required=True, help="Custom domain of the account.")
@click.option("--email", required=True)
@click.option("--password", help="Password (omit for a user who signs in with SSO only).")
@click.option("--role", help="A role to grant, e.g. 'Account admin' or Developer.")
@click.option("--name", default="", help="Display name.")
def users_create(domain, email, password, role, name):
    """Create a user in an account."""
    user = base_run(lambda: users.create_user(get_account(domain), email, password=password,
                                           role=role, name=name, via="cli"))
    echo(f"Created user {user.email} in account {user.account.domain}.")


@users_cli.command("list")
@click.argument("domain")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def users_list(domain, as_json):
    """List the users of an account."""
    account = base_run(lambda: get_account(domain))
    rows = [{"email": u.email, "name": u.name, "active": u.active, "created_via": u.created_via,
             "last_login": iso(u.last_login_at), "last_sso_login": iso(u.last_sso_login_at),
             "teams": [t.name for t in u.teams], "roles": [r.name for r in u.effective_roles()]}
            for u in users.list_users(account)]
    emit(rows, as_json, ["email", "name", "active", "created_via", "last_login", "teams", "roles"])


@users_cli.command("deactivate")
@click.argument("domain")
@click.argument("email")
def users_deactivate(domain, email):
    """Deactivate a user: no password or SSO login until reactivated."""
    _, user = run(lambda: _with_user(domain, email, lambda a, u: users.set_active(a, u, False)))
    echo(f"Deactivated {user.email}.")


@users_cli.command("reactivate")
@click.argument("domain")
@click.argument("email")
def users_reactivate(domain, email):
    """Reactivate a deactivated user."""
    _, user = run(lambda: _with_user(domain, email, lambda a, u: users.set_active(a, u, True)))
    echo(f"Reactivated {user.email}.")


@users_cli.command("sign-out")
@click.argument("domain")
@click.argument("email")
def users_sign_out(domain, email):
    """End every session of a user on every server (at their next request); they can sign in again."""
    ended, user = run(lambda: _with_user(domain, email, users.sign_out_everywhere))
    echo(f"Signed {user.email} out everywhere: {ended} session{'' if ended == 1 else 's'} ended.")


@users_cli.command("break-glass")
@click.argument("domain")
@click.argument("email")
@click.option("--on/--off", "on", required=True, help="Mark or unmark the Account admin as break-glass.")
def users_break_glass(domain, email, on):
    """Let an Account admin use their password while the account requires SSO (--on), or not (--off)."""
    changed, user = run(lambda: _with_user(domain, email, lambda a, u: users.set_break_glass(a, u, on)))
    state = "a break-glass admin" if on else "not a break-glass admin"
    echo(f"{user.email} is {'now ' if changed else 'already '}{state}.")


def _with_user(domain: str, email: str, action: Callable) -> tuple:
    """Resolve the account and its user, run action(account, user); return (its result, the user)."""
    account = get_account(domain)
    user = users.get_user(account, email)
    return action(account, user), user


GROUPS = [teams_cli, users_cli]
