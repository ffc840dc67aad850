"""flask teams ... through the CLI runner."""
from __future__ import annotations

import json

from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, Team
from tests.helpers import make_team


def test_list_json_and_table(runner, account, admin, member):
    make_team(account, "Support", source="sso", members=[member, admin])
    make_team(account, "Ops", roles=["Developer", "Billing"], members=[member])
    result = runner.invoke(args=["teams", "list", "acme", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"name": "Ops", "source": "manual", "members": 1, "roles": ["Developer", "Billing"]},
        {"name": "Support", "source": "sso", "members": 2, "roles": []},
    ]
    table = runner.invoke(args=["teams", "list", "acme"])
    assert table.exit_code == 0 and "NAME" in table.output and "Developer, Billing" in table.output


def test_list_unknown_domain_fails(runner, app):
    result = runner.invoke(args=["teams", "list", "nope"])
    assert result.exit_code == 1 and "No account has the custom domain 'nope'" in result.output


def test_grant_and_revoke(runner, account, member):
    make_team(account, "Support", source="sso", members=[member])
    result = runner.invoke(args=["teams", "grant", "acme", "support", "developer"])
    assert result.exit_code == 0, result.output
    assert "Granted Developer to 'Support'" in result.output
    db.session.expire_all()
    assert [r.name for r in member.effective_roles()] == ["Developer"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "team.role_granted"))
    assert event.details["before"] == {"roles": []} and event.details["after"] == {"roles": ["Developer"]}

    again = runner.invoke(args=["teams", "grant", "acme", "Support", "Developer"])
    assert again.exit_code == 1 and "already has the role Developer" in again.output
    assert runner.invoke(args=["teams", "revoke", "acme", "Support", "Developer"]).exit_code == 0
    db.session.expire_all()
    assert member.effective_roles() == []


def test_grant_errors(runner, account, other_account):
    make_team(other_account, "Globex only")
    team = runner.invoke(args=["teams", "grant", "acme", "Globex only", "Developer"])
    assert team.exit_code == 1 and "No team 'Globex only' in account 'acme'" in team.output
    make_team(account, "Ops")
    role = runner.invoke(args=["teams", "grant", "acme", "Ops", "Boss"])
    assert role.exit_code == 1 and "Unknown role 'Boss'" in role.output


def test_add_and_remove_member(runner, account, member):
    make_team(account, "Ops")
    result = runner.invoke(args=["teams", "add-member", "acme", "Ops", "Member@Acme.test"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    team = db.session.scalar(select(Team).where(Team.name == "Ops"))
    assert [(m.user.email, m.source) for m in team.memberships] == [(member.email, "manual")]
    assert runner.invoke(args=["teams", "remove-member", "acme", "Ops", member.email]).exit_code == 0
    db.session.expire_all()
    assert team.memberships == []
    missing = runner.invoke(args=["teams", "remove-member", "acme", "Ops", member.email])
    assert missing.exit_code == 1 and "is not a member" in missing.output
    other = runner.invoke(args=["teams", "add-member", "acme", "Ops", "admin@globex.test"])
    assert other.exit_code == 1 and "No user" in other.output


def test_revoke_last_admin_refused_and_audited(runner, account, admin):
    make_team(account, "Admins", roles=["Account admin"], members=[admin])
    assert runner.invoke(args=["users", "list", "acme"]).exit_code == 0
    from portal.directory import users
    users.revoke_role(account, admin, "Account admin")
    db.session.commit()
    result = runner.invoke(args=["teams", "revoke", "acme", "Admins", "Account admin"])
    assert result.exit_code == 1 and "without an Account admin" in result.output
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.reason == "last_account_admin"))
    assert event.event_type == "team.role_revoked" and event.outcome == "failure"
    db.session.expire_all()
    assert [r.name for r in admin.effective_roles()] == ["Account admin"]
