"""Feedback where the eye is on every form outside the SSO page: teams, users, your account, provisioning.

A refused post answers 422 at the page's own URL (a reload is a GET of the page, never a 405), with an error
summary (role=alert, tabindex=-1, focused by static/form-errors.js) linking each aria-invalid field.
"""
from __future__ import annotations

import re

import pytest

from portal.extensions import db
from portal.models import Role
from tests.helpers import PASSWORD, csrf_token, make_team


def summary(page: str) -> str:
    assert page.count("data-error-summary") == 1, page
    start = page.rindex("<div", 0, page.index("data-error-summary"))
    return page[start:page.index("</div>", start)]


def article(page: str, anchor: str) -> str:
    start = page.index(f'<article id="{anchor}"')
    return page[start:page.index("</article>", start)]


def assert_refused_at(response, path: str, field_id: str, message: str, anchor: str) -> None:
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and response.request.path == path
    box = summary(page)
    assert 'role="alert"' in box and 'tabindex="-1"' in box and message in box
    assert f'<a href="#{field_id}">' in box and box in article(page, anchor)
    tag = re.search(rf'<(input|select|textarea)[^>]*id="{field_id}"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in tag and f"{field_id}-error" in tag
    assert "/static/form-errors.js" in page


def test_create_team_refused(admin_client, account):
    make_team(account, "Ops")
    db.session.commit()
    response = admin_client.post("/admin/teams", data={"csrf_token": csrf_token(admin_client, "/admin/teams"),
                                                       "name": "OPS"})
    assert_refused_at(response, "/admin/teams", "name", "already has a team named", "create-team")


@pytest.fixture
def team_page(admin_client, account):
    team = make_team(account, "Ops")
    make_team(account, "Support")
    db.session.commit()
    return f"/admin/teams/{team.id}"


def post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data})


def test_team_forms_are_refused_at_the_team_page(admin_client, team_page):
    assert_refused_at(post(admin_client, team_page, section="rename", **{"rename-name": "support"}),
                      team_page, "rename-name", "already has a team named", "rename")
    assert_refused_at(post(admin_client, team_page, section="member", **{"member-email": "nobody@acme.test"}),
                      team_page, "member-email", "No user nobody@acme.test", "members")
    assert_refused_at(post(admin_client, team_page, section="role", **{"role-role": ""}),
                      team_page, "role-role", "Choose a role.", "roles")
    assert admin_client.get(team_page).status_code == 200


def test_team_forms_post_to_the_team_page(admin_client, team_page):
    page = admin_client.get(team_page).get_data(as_text=True)
    for anchor, section in (("rename", "rename"), ("members", "member"), ("roles", "role")):
        form = article(page, anchor)
        assert f'action="{team_page}"' in form and f'name="section" value="{section}"' in form


def test_team_messages_appear_in_their_section(admin_client, account, member, team_page):
    response = post(admin_client, team_page, section="member", **{"member-email": member.email})
    assert response.status_code == 302 and response.headers["Location"] == f"{team_page}#members"
    page = admin_client.get(team_page).get_data(as_text=True)
    assert f"Added {member.email} to &#39;Ops&#39;." in article(page, "members")
    response = post(admin_client, team_page, section="role", **{"role-role": "Developer"})
    assert response.headers["Location"] == f"{team_page}#roles"
    assert "Granted Developer to" in article(admin_client.get(team_page).get_data(as_text=True), "roles")
    response = post(admin_client, team_page, section="rename", **{"rename-name": "Operations"})
    assert response.headers["Location"] == f"{team_page}#rename"
    assert "Renamed the team to" in article(admin_client.get(team_page).get_data(as_text=True), "rename")


def test_unknown_section_is_a_bad_request(admin_client, team_page, member):
    assert post(admin_client, team_page, section="delete").status_code == 400
    assert post(admin_client, f"/admin/users/{member.id}", section="deactivate").status_code == 400


def test_another_accounts_team_page_post_is_a_404(admin_client, other_account):
    theirs = make_team(other_account, "Theirs")
    db.session.commit()
    response = admin_client.post(f"/admin/teams/{theirs.id}", data={
        "csrf_token": csrf_token(admin_client, "/admin/teams"), "section": "rename", "rename-name": "Mine"})
    assert response.status_code == 404


def test_user_role_refused_at_the_user_page(admin_client, member):
    path = f"/admin/users/{member.id}"
    assert_refused_at(post(admin_client, path, section="role", **{"role-role": "Nonsense"}),
                      path, "role-role", "Not a valid choice", "roles")
    response = post(admin_client, path, section="role", **{"role-role": "Analyst"})
    assert response.status_code == 302 and response.headers["Location"] == f"{path}#roles"
    assert "Granted Analyst to" in article(admin_client.get(path).get_data(as_text=True), "roles")
    assert Role.query.filter_by(name="Analyst").one() in member.roles


def test_password_change_refused_at_the_account_page(admin_client, admin):
    response = post(admin_client, "/account", section="password", current_password=PASSWORD,
                    new_password="short", confirm="short")
    assert_refused_at(response, "/account", "new_password", "between 8 and 1000 characters", "password")
    page = response.get_data(as_text=True)
    tag = re.search(r'<input[^>]*id="new_password"[^>]*>', page).group(0)
    assert 'aria-describedby="new_password-error new_password-help"' in tag
    response = post(admin_client, "/account", section="password", current_password=PASSWORD,
                    new_password="a-new-password", confirm="a-new-password")
    assert response.status_code == 302 and response.headers["Location"] == "/account#password"
    assert "Password changed." in article(admin_client.get("/account").get_data(as_text=True), "password")


PROVISIONING = "/settings/security/provisioning"


def test_provisioning_forms_refused_at_the_page(admin_client, account):
    assert_refused_at(post(admin_client, PROVISIONING, section="token", name="x" * 101),
                      PROVISIONING, "name", "Token name", "tokens")
    assert_refused_at(post(admin_client, PROVISIONING, section="default_role", role=""),
                      PROVISIONING, "role", "Choose a role.", "default-role")
    response = post(admin_client, PROVISIONING, section="default_role", role="Developer")
    assert response.status_code == 302
    assert "Saved the default role" in article(admin_client.get(PROVISIONING).get_data(as_text=True),
                                               "default-role")


def test_provisioning_token_created_at_the_page(admin_client, account):
    response = post(admin_client, PROVISIONING, section="token", name="Okta")
    assert response.status_code == 200 and response.request.path == PROVISIONING
