"""Nothing destructive in one click: each action's GET is a confirmation step naming the object and the consequence,
and its POST does nothing without the step's confirm field (the one-click path is gone)."""
from __future__ import annotations

import pytest

from portal.directory import users
from portal.extensions import db
from portal.models import Role, Team, User
from tests.helpers import csrf_token, make_team, page_without_tokens


def _actions(account, admin, member):
    """(url, words the step must show, check that the action happened) for every destructive admin action."""
    team = make_team(account, "Support", roles=["Developer"], members=[member])
    doomed = make_team(account, "Doomed", roles=["Analyst"], members=[member])
    users.grant_role(account, member, "Billing")
    admin.break_glass = False
    db.session.commit()
    developer, billing = Role.by_name("Developer"), Role.by_name("Billing")
    doomed_id = doomed.id
    return [
        (f"/admin/teams/{doomed.id}/delete", ["Doomed", "cannot be undone", "Analyst"],
         lambda: db.session.get(Team, doomed_id) is None),
        (f"/admin/teams/{team.id}/members/{member.id}/remove", [member.email, "Support", "loses the roles"],
         lambda: member.id not in {m.user_id for m in db.session.get(Team, team.id).memberships}),
        (f"/admin/teams/{team.id}/roles/{developer.id}/revoke", ["Developer", "Support", "lose the permissions"],
         lambda: developer not in db.session.get(Team, team.id).roles),
        (f"/admin/users/{member.id}/roles/{billing.id}/revoke", ["Billing", member.email, "loses the permissions"],
         lambda: billing not in db.session.get(User, member.id).roles),
        (f"/admin/users/{member.id}/deactivate", [member.email, "signed out everywhere", "can no longer log in"],
         lambda: db.session.get(User, member.id).active is False),
        (f"/admin/users/{member.id}/sign-out", [member.email, "Every session", "sign in again"],
         lambda: True),
        (f"/admin/users/{admin.id}/break-glass", [admin.email, "break-glass", "password"],
         lambda: db.session.get(User, admin.id).break_glass is True),
    ]


def test_each_destructive_action_has_a_confirmation_step_then_needs_it(admin_client, account, admin, member):
    for url, words, done in _actions(account, admin, member):
        step = admin_client.get(url)
        html = step.get_data(as_text=True)
        assert step.status_code == 200, url
        assert all(word in html for word in words), (url, words)
        assert "Cancel" in html and 'name="confirm"' in html and 'value="yes"' in html
        assert f'<form method="post" action="{url}">' in html  # the step posts to the action itself
        token = csrf_token(admin_client, url)
        refused = admin_client.post(url, data={"csrf_token": token})  # the old one-click form's body
        assert refused.status_code == 422, url
        assert "Nothing was done" in refused.get_data(as_text=True)
        forged = admin_client.post(url, data={"csrf_token": token, "confirm": "y"})
        assert forged.status_code == 422, url
        db.session.expire_all()
        if url.endswith(("/sign-out",)):
            continue
        assert not done(), url  # neither changed anything
        confirmed = admin_client.post(url, data={"csrf_token": token, "confirm": "yes"})
        assert confirmed.status_code == 302, url
        db.session.expire_all()
        assert done(), url


def test_break_glass_step_carries_the_change_it_named(admin_client, account, admin):
    url = f"/admin/users/{admin.id}/break-glass"
    step = admin_client.get(url).get_data(as_text=True)
    assert "Mark admin@acme.test as a break-glass admin?" in step and 'name="on" value="1"' in step
    token = csrf_token(admin_client, url)
    db.session.get(User, admin.id).break_glass = True  # someone else marked them meanwhile
    db.session.commit()
    assert admin_client.post(url, data={"csrf_token": token, "confirm": "yes", "on": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, admin.id).break_glass is True  # the page left open did not unmark them


def test_signing_out_needs_the_step(client, admin_client, account, admin, member):
    from tests.helpers import login

    other = client.application.test_client()
    assert login(other, member.email).status_code == 302
    url = f"/admin/users/{member.id}/sign-out"
    token = csrf_token(admin_client, url)
    assert admin_client.post(url, data={"csrf_token": token}).status_code == 422
    assert other.get("/").status_code == 200  # still signed in
    assert admin_client.post(url, data={"csrf_token": token, "confirm": "yes"}).status_code == 302
    assert other.get("/").status_code == 302  # signed out


def test_detail_pages_link_to_the_steps_instead_of_posting(admin_client, account, member):
    team = make_team(account, "Support", roles=["Developer"], members=[member])
    users.grant_role(account, member, "Billing")
    db.session.commit()
    team_page = admin_client.get(f"/admin/teams/{team.id}").get_data(as_text=True)
    user_page = admin_client.get(f"/admin/users/{member.id}").get_data(as_text=True)
    for html, path in ((team_page, f"/admin/teams/{team.id}/delete"), (team_page, f"/admin/teams/{team.id}/members"),
                       (user_page, f"/admin/users/{member.id}/deactivate"),
                       (user_page, f"/admin/users/{member.id}/sign-out"),
                       (user_page, f"/admin/users/{member.id}/roles/")):
        assert f'href="{path}' in html, path
    assert 'action="/admin/teams/%d/delete"' % team.id not in team_page
    assert f'action="/admin/users/{member.id}/deactivate"' not in user_page
    assert 'aria-label="Revoke Billing…"' in user_page  # names the role, not just "Revoke"


@pytest.mark.parametrize("path", ["/admin/teams/{team}/delete", "/admin/users/{user}/deactivate",
                                  "/admin/users/{user}/sign-out", "/admin/teams/{team}/members/{user}/remove"])
def test_another_accounts_step_is_404_like_a_missing_one(admin_client, other_account, path):
    theirs = make_team(other_account, "Theirs")
    their_admin = User.by_email("admin@globex.test")
    other = admin_client.get(path.format(team=theirs.id, user=their_admin.id))
    missing = admin_client.get(path.format(team=999999, user=999999))
    assert other.status_code == missing.status_code == 404
    assert page_without_tokens(other) == page_without_tokens(missing)


def test_role_selects_never_pre_choose_a_role(admin_client, account, member):
    team = make_team(account, "Support")
    for path in (f"/admin/teams/{team.id}", f"/admin/users/{member.id}", "/admin/users"):
        html = admin_client.get(path).get_data(as_text=True)
        select = html[html.index('<select'):html.index('</select>')]
        assert 'required' in select.split(">")[0], path
        first = select.split("<option", 2)[1]
        assert first.startswith((' selected value="">Choose a role…', ' value="">Choose a role…')), path
        assert "selected" not in select.split("<option", 2)[2], path  # no real role is pre-chosen
    token = csrf_token(admin_client, f"/admin/teams/{team.id}")
    refused = admin_client.post(f"/admin/teams/{team.id}/roles", data={"csrf_token": token, "role-role": ""})
    assert refused.status_code == 422 and "Choose a role." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Team, team.id).roles == []


def test_a_refused_action_is_announced_as_an_alert(admin_client, account, member):
    team = make_team(account, "Support", source="sso", members=[member])
    url = f"/admin/teams/{team.id}/members/{member.id}/remove"
    response = admin_client.post(url, data={"csrf_token": csrf_token(admin_client, url), "confirm": "yes"},
                                 follow_redirects=True)
    html = response.get_data(as_text=True)
    assert '<div class="flash error" role="alert">' in html and "through the IdP group" in html
