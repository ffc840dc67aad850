"""Stored XSS through SCIM: what an IdP (or a stolen token) writes is shown on admin pages as text, never as markup.

Each value is written through the SCIM API (or, for token names, the Provisioning page's form) and each page that
shows it must carry only its escaped form: the raw markup never appears in the HTML.
"""
from __future__ import annotations

import re

import pytest
from markupsafe import escape
from sqlalchemy import select

from portal.extensions import db
from portal.models import Team, User
from portal.scim import tokens
from tests.helpers import csrf_token
from tests.scim.helpers import Scim, group_body, okta_user, patch_op

PROVISIONING = "/settings/security/provisioning"
# One payload per stored value, each naming the value it sits in, so a page showing it can be told apart.
DISPLAY_NAME = '<script>alert("displayName")</script>'
GIVEN_NAME = '"><img src=x onerror=alert("givenName")>'
EXTERNAL_ID = '"><img src=x onerror=alert("externalId")>'
GROUP_NAME = '<script>alert("group")</script> "><img src=x onerror=alert("group")>'
GROUP_EXTERNAL_ID = '<svg onload=alert("groupExternalId")>'
TOKEN_NAME = '"><img src=x onerror=alert("token")> <script>alert("token")</script>'
PATH = '<script>alert("path")</script>'  # quoted back by a refusal: the activity's subject and detail
PAYLOADS = (DISPLAY_NAME, GIVEN_NAME, EXTERNAL_ID, GROUP_NAME, GROUP_EXTERNAL_ID, TOKEN_NAME, PATH)


def _text(html: str) -> str:
    """The page without the <wbr> wrap points admin pages put after separators (escaped text stays escaped)."""
    return html.replace("<wbr>", "")


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def _assert_shown_only_as_text(html: str, *shown: str) -> None:
    """No payload's markup appears anywhere in html; each of `shown` appears escaped (so the page does show it)."""
    for payload in PAYLOADS:
        for form in (html, _text(html)):
            assert payload not in form, payload
            for tag in re.findall(r"<(?:script|img|svg)\b[^>]*>", payload):
                assert tag not in form, tag
    for payload in shown:
        assert str(escape(payload)) in _text(html), payload


@pytest.fixture
def stored(admin_client, account):
    """Every value written with markup in it; returns the ids the pages are at."""
    page = admin_client.post(PROVISIONING, data={"csrf_token": csrf_token(admin_client, PROVISIONING),
                                                 "section": "token", "name": TOKEN_NAME})
    assert page.status_code == 200
    token = re.search(r'id="new-token"[^>]*value="(scim_[^"]+)"', page.get_data(as_text=True)) or \
        re.search(r"(scim_[A-Za-z0-9_-]{20,})", page.get_data(as_text=True))
    scim = Scim(admin_client, account.domain, token.group(1))
    body = okta_user("ada@acme.test", given=GIVEN_NAME, family="Lovelace", external_id=EXTERNAL_ID)
    body["displayName"] = DISPLAY_NAME
    created = scim.post("/Users", body)
    assert created.status_code == 201, created.get_data(as_text=True)
    uid = created.get_json()["id"]
    group = scim.post("/Groups", group_body(GROUP_NAME, [uid], external_id=GROUP_EXTERNAL_ID))
    assert group.status_code == 201, group.get_data(as_text=True)
    # refusals quote what was sent: an unknown attribute named with markup, a path with markup in it
    assert scim.patch(f"/Users/{uid}", patch_op({"op": "add", "path": "x", "value": 1})).status_code == 400
    assert scim.get("/Users/" + PATH).status_code == 404
    assert scim.patch(f"/Users/{uid}", patch_op({"op": "replace", "path": "externalId",
                                                 "value": EXTERNAL_ID + "2"})).status_code == 200
    (row,) = tokens.list_tokens(account)
    team = db.session.scalar(select(Team).where(Team.scim_id == group.get_json()["id"]))
    return {"user": User.by_email("ada@acme.test").id, "team": team.id, "token": row.id}


def test_provisioning_page_token_names_and_recent_activity_are_text(admin_client, stored):
    html = _page(admin_client, PROVISIONING)
    assert "Recent provisioning activity" in html and "scim.request.refused" in html
    _assert_shown_only_as_text(html, TOKEN_NAME, GROUP_NAME, PATH)


def test_the_new_token_banner_and_the_revoke_confirmation_show_the_token_name_as_text(admin_client, account):
    created = admin_client.post(PROVISIONING, data={"csrf_token": csrf_token(admin_client, PROVISIONING),
                                                    "section": "token", "name": TOKEN_NAME})
    assert created.status_code == 200
    _assert_shown_only_as_text(created.get_data(as_text=True), TOKEN_NAME)
    (row,) = tokens.list_tokens(account)
    _assert_shown_only_as_text(_page(admin_client, f"{PROVISIONING}/tokens/{row.id}/revoke"), TOKEN_NAME)
    revoked = admin_client.post(f"{PROVISIONING}/tokens/{row.id}/revoke",
                                data={"csrf_token": csrf_token(admin_client, PROVISIONING), "confirm": "yes"},
                                follow_redirects=True)
    assert revoked.status_code == 200 and "Revoked the token" in revoked.get_data(as_text=True)
    _assert_shown_only_as_text(revoked.get_data(as_text=True), TOKEN_NAME)  # the flash message names it


def test_admin_users_pages_show_scim_display_names_and_group_names_as_text(admin_client, stored):
    _assert_shown_only_as_text(_page(admin_client, "/admin/users"), DISPLAY_NAME, GROUP_NAME)
    _assert_shown_only_as_text(_page(admin_client, f"/admin/users/{stored['user']}"), DISPLAY_NAME, GROUP_NAME)
    _assert_shown_only_as_text(_page(admin_client, f"/admin/users/{stored['user']}/deactivate"))


def test_admin_teams_pages_show_a_pushed_group_name_as_text(admin_client, stored):
    _assert_shown_only_as_text(_page(admin_client, "/admin/teams"), GROUP_NAME)
    _assert_shown_only_as_text(_page(admin_client, f"/admin/teams/{stored['team']}"), GROUP_NAME)
    _assert_shown_only_as_text(_page(admin_client, f"/admin/teams/{stored['team']}/delete"), GROUP_NAME)


def test_audit_log_page_shows_scim_values_and_token_names_as_text(admin_client, stored):
    html = _page(admin_client, "/admin/audit")
    assert "scim.user.created" in html and "scim.group.created" in html
    # the actor of SCIM events is the token's name; the details keep externalIds and the refused path
    _assert_shown_only_as_text(html, TOKEN_NAME, GROUP_NAME, EXTERNAL_ID, GROUP_EXTERNAL_ID, PATH)
