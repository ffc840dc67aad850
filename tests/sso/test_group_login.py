"""Auto-create groups through a real SSO login: the issue's "done when" story, end to end in the test client."""
from __future__ import annotations

from sqlalchemy import select

from devtools.saml_idp import GROUP_ATTRIBUTE
from portal.extensions import db
from portal.models import Role, Team, TeamMembership, User
from tests.helpers import csrf_token


def _teams_of(email: str) -> dict[str, set[str]]:
    db.session.expire_all()
    user = User.by_email(email)
    rows = db.session.scalars(select(TeamMembership).where(TeamMembership.user_id == user.id))
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row.team.name, set()).add(row.source)
    return found


def test_groups_become_teams_roles_apply_and_next_login_syncs(flow, client, app, account):
    config = account.sso_config
    config.auto_create_users = True
    config.auto_create_groups = True
    db.session.commit()

    assert flow.login("jane@acme.test", groups=["Support", "Sales"]).status_code == 303
    assert _teams_of("jane@acme.test") == {"Support": {"sso"}, "Sales": {"sso"}}
    support = db.session.scalar(select(Team).where(Team.account_id == account.id, Team.name == "Support"))
    assert support.source == "sso" and support.roles == []
    page = client.get("/").get_data(as_text=True)
    assert "Support" in page and "Sales" in page and "no permissions yet" in page

    # The admin grants Developer to Support, and adds Jane to a manual team by hand.
    support.roles.append(Role.by_name("Developer"))
    ops = Team(account=account, name="Ops")
    db.session.add(ops)
    db.session.flush()
    jane = User.by_email("jane@acme.test")
    db.session.add(TeamMembership(team=ops, user=jane, account_id=account.id, source="manual"))
    db.session.commit()
    assert "Developer" in client.get("/").get_data(as_text=True)  # at once, no new login

    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/")}).status_code == 302
    assert flow.login("jane@acme.test", groups=["Support"]).status_code == 303
    assert _teams_of("jane@acme.test") == {"Support": {"sso"}, "Ops": {"manual"}}
    assert db.session.scalar(select(Team).where(Team.name == "Sales")) is not None  # team stays, member left


def test_groups_ignored_when_auto_create_groups_is_off(flow, account):
    account.sso_config.auto_create_users = True
    db.session.commit()
    assert flow.login("joe@acme.test", groups=["Support"]).status_code == 303
    assert _teams_of("joe@acme.test") == {}
    assert db.session.scalar(select(Team).where(Team.account_id == account.id)) is None


def test_group_filter_applies_at_login(flow, account):
    config = account.sso_config
    config.auto_create_users = config.auto_create_groups = True
    config.group_filter = "portal-.*"
    db.session.commit()
    assert flow.login("kim@acme.test", groups=["portal-admins", "Everyone", "xportal-x"]).status_code == 303
    assert _teams_of("kim@acme.test") == {"portal-admins": {"sso"}}


def test_group_attribute_repeated_as_several_elements(flow, account):
    # Some IdPs send one <Attribute Name="...claims/Group"> element per group instead of several values.
    config = account.sso_config
    config.auto_create_users = config.auto_create_groups = True
    db.session.commit()
    response = flow.login("lee@acme.test", groups=["Support"], attributes={GROUP_ATTRIBUTE: ["Sales"]})
    assert response.status_code == 303
    assert _teams_of("lee@acme.test") == {"Support": {"sso"}, "Sales": {"sso"}}
