"""Team and user admin pages through the client."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, Role, Team, User
from tests.helpers import csrf_token, login, make_team, page_without_tokens


def confirmed(token: str) -> dict:
    """The body a confirmation step posts."""
    return {"csrf_token": token, "confirm": "yes"}


def test_teams_page_lists_source_members_roles(admin_client, account, member):
    make_team(account, "Support", source="sso", members=[member])
    make_team(account, "Ops", roles=["Developer"], members=[member])
    html = admin_client.get("/admin/teams").get_data(as_text=True)
    assert "Support" in html and "SSO" in html and "Manual" in html and "Developer" in html
    assert "No role" in html


def test_create_team_then_open_it(admin_client, account):
    token = csrf_token(admin_client, "/admin/teams")
    response = admin_client.post("/admin/teams", data={"csrf_token": token, "name": "Project X"})
    assert response.status_code == 302
    team = db.session.scalar(select(Team).where(Team.name == "Project X"))
    assert team.source == "manual" and response.headers["Location"] == f"/admin/teams/{team.id}"
    assert "Project X" in admin_client.get(f"/admin/teams/{team.id}").get_data(as_text=True)


def test_create_team_errors_next_to_field(admin_client, account):
    make_team(account, "Ops")
    token = csrf_token(admin_client, "/admin/teams")
    blank = admin_client.post("/admin/teams", data={"csrf_token": token, "name": "  "})
    assert blank.status_code == 422 and 'class="field-error"' in blank.get_data(as_text=True)
    dup = admin_client.post("/admin/teams", data={"csrf_token": token, "name": "OPS"})
    assert dup.status_code == 422 and "already has a team named" in dup.get_data(as_text=True)


def test_forms_need_csrf(admin_client, account, member):
    team = make_team(account, "Ops")
    role = Role.by_name("Developer")
    for path, data in [("/admin/teams", {"name": "X"}),
                       (f"/admin/teams/{team.id}/roles", {"role-role": "Developer"}),
                       (f"/admin/teams/{team.id}/members", {"member-email": member.email}),
                       (f"/admin/teams/{team.id}/delete", {}),
                       (f"/admin/users/{member.id}/roles", {"role-role": "Developer"}),
                       (f"/admin/users/{member.id}/deactivate", {})]:
        assert admin_client.post(path, data=data).status_code == 400, path
    db.session.expire_all()
    assert db.session.get(Team, team.id) is not None  # not deleted
    assert db.session.scalar(select(Team).where(Team.name == "X")) is None  # not created
    assert team.roles == [] and team.memberships == [] and member.active and role not in member.roles


def test_sso_team_without_role_shows_banner(admin_client, account, member):
    team = make_team(account, "Support", source="sso", members=[member])
    html = admin_client.get(f"/admin/teams/{team.id}").get_data(as_text=True)
    assert "Members of this team get no permissions until you grant a role" in html
    assert "SSO (IdP group" in html


def test_grant_role_changes_dashboard_at_once(client, account, admin, member):
    """The done-when story: member in SSO team Support; admin grants Developer; member's dashboard shows it."""
    team = make_team(account, "Support", source="sso", members=[member])
    member_client = client.application.test_client()
    assert login(member_client, member.email).status_code == 302
    assert "You have no permissions yet" in member_client.get("/").get_data(as_text=True)

    assert login(client, admin.email).status_code == 302
    token = csrf_token(client, f"/admin/teams/{team.id}")
    response = client.post(f"/admin/teams/{team.id}/roles", data={"csrf_token": token, "role-role": "Developer"})
    assert response.status_code == 302

    html = member_client.get("/").get_data(as_text=True)
    assert "Developer" in html and "manage_api_keys" in html
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "team.role_granted"))
    assert event.actor_email == admin.email and event.details["after"] == {"roles": ["Developer"]}

    role = Role.by_name("Developer")
    token = csrf_token(client, f"/admin/teams/{team.id}")
    assert client.post(f"/admin/teams/{team.id}/roles/{role.id}/revoke", data=confirmed(token)).status_code == 302
    assert "You have no permissions yet" in member_client.get("/").get_data(as_text=True)


def test_add_and_remove_manual_member(admin_client, account, member):
    team = make_team(account, "Ops")
    token = csrf_token(admin_client, f"/admin/teams/{team.id}")
    assert admin_client.post(f"/admin/teams/{team.id}/members",
                             data={"csrf_token": token, "member-email": member.email}).status_code == 302
    assert [m.source for m in db.session.get(Team, team.id).memberships] == ["manual"]
    unknown = admin_client.post(f"/admin/teams/{team.id}/members",
                                data={"csrf_token": token, "member-email": "nobody@acme.test"})
    assert unknown.status_code == 422 and "No user nobody@acme.test" in unknown.get_data(as_text=True)
    assert admin_client.post(f"/admin/teams/{team.id}/members/{member.id}/remove",
                             data=confirmed(token)).status_code == 302
    db.session.expire_all()
    assert db.session.get(Team, team.id).memberships == []


def test_rename_and_delete_manual_team(admin_client, account):
    team_id = make_team(account, "Ops").id
    token = csrf_token(admin_client, f"/admin/teams/{team_id}")
    response = admin_client.post(f"/admin/teams/{team_id}/rename",
                                 data={"csrf_token": token, "rename-name": "Platform"})
    assert response.status_code == 302
    assert db.session.get(Team, team_id).name == "Platform"
    response = admin_client.post(f"/admin/teams/{team_id}/delete", data=confirmed(token))
    assert response.status_code == 302 and db.session.get(Team, team_id) is None


def test_sso_team_delete_explained(admin_client, account, member):
    team = make_team(account, "Support", source="sso", members=[member])
    account.sso_config.auto_create_groups = True
    db.session.commit()
    html = admin_client.get(f"/admin/teams/{team.id}").get_data(as_text=True)
    assert "would re-create it" in html
    token = csrf_token(admin_client, f"/admin/teams/{team.id}")
    response = admin_client.post(f"/admin/teams/{team.id}/delete", data=confirmed(token),
                                 follow_redirects=True)
    assert "would re-create it" in response.get_data(as_text=True)
    assert db.session.get(Team, team.id) is not None


def test_last_admin_message_on_page(admin_client, admin):
    role = Role.by_name("Account admin")
    token = csrf_token(admin_client, f"/admin/users/{admin.id}")
    response = admin_client.post(f"/admin/users/{admin.id}/roles/{role.id}/revoke", data=confirmed(token),
                                 follow_redirects=True)
    assert "without an Account admin" in response.get_data(as_text=True)
    response = admin_client.post(f"/admin/users/{admin.id}/deactivate", data=confirmed(token),
                                 follow_redirects=True)
    assert "You cannot deactivate yourself" in response.get_data(as_text=True)
    db.session.expire_all()
    assert admin.active and role in admin.roles


@pytest.mark.parametrize("path", ["/admin/teams/{team}", "/admin/users/{user}"])
def test_cross_account_ids_are_404_like_missing_ones(admin_client, other_account, path):
    team = make_team(other_account, "Globex team")
    user = User.by_email("admin@globex.test")
    foreign = admin_client.get(path.format(team=team.id, user=user.id))
    missing = admin_client.get(path.format(team=999999, user=999999))
    assert foreign.status_code == missing.status_code == 404
    assert page_without_tokens(foreign) == page_without_tokens(missing)  # nothing tells the two apart


def test_cross_account_posts_are_404(admin_client, account, other_account):
    team = make_team(other_account, "Globex team")
    token = csrf_token(admin_client, "/admin/teams")
    assert admin_client.post(f"/admin/teams/{team.id}/delete", data=confirmed(token)).status_code == 404
    assert admin_client.post(f"/admin/teams/{team.id}/roles",
                             data={"csrf_token": token, "role-role": "Developer"}).status_code == 404
    globex_admin = User.by_email("admin@globex.test")
    assert admin_client.post(f"/admin/users/{globex_admin.id}/deactivate",
                             data=confirmed(token)).status_code == 404
    ours = make_team(account, "Ours")
    assert admin_client.post(f"/admin/teams/{ours.id}/members/{globex_admin.id}/remove",
                             data=confirmed(token)).status_code == 404
    db.session.expire_all()
    assert db.session.get(Team, team.id).roles == [] and globex_admin.active


@pytest.mark.parametrize("path", ["/admin/teams", "/admin/users"])
def test_member_without_role_gets_403(member_client, path):
    response = member_client.get(path)
    assert response.status_code == 403 and "Ask an Account admin" in response.get_data(as_text=True)


def test_anonymous_is_sent_to_login(client, account):
    response = client.get("/admin/teams")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def test_unknown_team_is_404(admin_client):
    assert admin_client.get("/admin/teams/99999").status_code == 404


def test_users_page_and_user_actions(admin_client, account, member):
    make_team(account, "Support", source="sso", roles=["Analyst"], members=[member])
    html = admin_client.get("/admin/users").get_data(as_text=True).replace("<wbr>", "")
    assert member.email in html and "Support" in html and "Analyst" in html and "Command line" in html

    token = csrf_token(admin_client, f"/admin/users/{member.id}")
    assert admin_client.post(f"/admin/users/{member.id}/roles",
                             data={"csrf_token": token, "role-role": "Billing"}).status_code == 302
    db.session.expire_all()
    assert [r.name for r in member.effective_roles()] == ["Analyst", "Billing"]

    assert admin_client.post(f"/admin/users/{member.id}/deactivate", data=confirmed(token)).status_code == 302
    db.session.expire_all()
    assert member.active is False
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "user.deactivated"))
    assert event.details == {"before": {"active": True}, "after": {"active": False}, "sessions_ended": 0}
    assert "deactivated" in admin_client.get("/admin/users").get_data(as_text=True)
    assert admin_client.post(f"/admin/users/{member.id}/reactivate", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert member.active is True


def test_deactivated_user_is_signed_out(client, account, admin, member):
    member_client = client.application.test_client()
    assert login(member_client, member.email).status_code == 302
    assert member_client.get("/").status_code == 200
    assert login(client, admin.email).status_code == 302
    token = csrf_token(client, f"/admin/users/{member.id}")
    assert client.post(f"/admin/users/{member.id}/deactivate", data=confirmed(token)).status_code == 302
    response = member_client.get("/")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def test_rename_refused_keeps_name(admin_client, account):
    make_team(account, "Ops")
    team_id = make_team(account, "Platform").id
    token = csrf_token(admin_client, f"/admin/teams/{team_id}")
    response = admin_client.post(f"/admin/teams/{team_id}/rename", data={"csrf_token": token, "rename-name": "ops"})
    assert response.status_code == 422 and "already has a team named &#39;Ops&#39;" in response.get_data(as_text=True)
    assert db.session.get(Team, team_id).name == "Platform"
