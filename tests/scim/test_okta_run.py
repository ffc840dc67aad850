"""Issue 13's "done when": a token from the CLI, a simulated Okta run of 1,000 users into three pushed groups, the
admin sees the teams and grants a role to one, and a deactivation throws that person out at their next click."""
from __future__ import annotations

import pytest

from portal.models import User
from tests.helpers import PASSWORD, csrf_token, login
from tests.scim.helpers import Scim, filter_param, group_body, okta_user, patch_op

PEOPLE = 1000


@pytest.fixture
def app_config():
    return {"SCIM_RATE_LIMIT": "100000 per second"}  # one client pushing as fast as it can


def test_simulated_okta_run(runner, client, account, admin):
    token = runner.invoke(args=["scim", "token", "create", "acme", "--name", "Okta"]).output.strip()
    okta = Scim(client, "acme", token)
    ids = []
    for n in range(PEOPLE):
        email = f"person{n:04d}@acme.test"
        found = okta.get("/Users?filter=" + filter_param(f'userName eq "{email}"'))
        assert found.status_code == 200, (repr(token), found.get_data(as_text=True))
        assert found.get_json()["totalResults"] == 0
        created = okta.post("/Users", okta_user(email, given=f"P{n}", family="Test", external_id=f"00u{n}"))
        assert created.status_code == 201
        ids.append(created.get_json()["id"])
    groups = {}
    for i, name in enumerate(("Engineering", "Sales", "Support")):
        response = okta.post("/Groups", group_body(name))
        groups[name] = response.get_json()["id"]
        members = [{"value": v} for v in ids[i::3]]
        assert okta.patch(f"/Groups/{groups[name]}", patch_op({"op": "add", "path": "members",
                                                               "value": members})).status_code == 204
    assert okta.get("/Users?count=0").get_json()["totalResults"] == PEOPLE + 1

    # the admin sees the teams and grants a role to one of them
    assert login(client, admin.email).status_code == 302
    teams_page = client.get("/admin/teams").get_data(as_text=True)
    assert all(name in teams_page for name in groups)
    from portal.directory.teams import get_team
    team = get_team(account, "Engineering")
    page = f"/admin/teams/{team.id}"
    response = client.post(f"{page}/roles", data={"role-role": "Developer", "csrf_token": csrf_token(client, page)})
    assert response.status_code in (302, 303), response.status_code
    person = User.by_email("person0000@acme.test")
    assert "Developer" in [r.name for r in person.effective_roles()]

    # that person signs in, is deactivated through SCIM and is out at the next click
    person.set_password(PASSWORD)
    from portal.extensions import db
    db.session.commit()
    browser = client.application.test_client()
    assert login(browser, person.email).status_code == 302
    assert browser.get("/").status_code == 200
    okta.patch(f"/Users/{ids[0]}", patch_op({"op": "replace", "value": {"active": False}}))
    out = browser.get("/")
    assert out.status_code == 302 and out.headers["Location"].startswith("/login")
