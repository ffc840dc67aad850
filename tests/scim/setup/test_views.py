"""Account settings → Security → Provisioning (SCIM): base URL and field names, tokens, default role, activity."""
from __future__ import annotations

import re

from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, Role
from portal.scim import tokens
from tests.helpers import csrf_token
from tests.scim.helpers import Scim, okta_user

PAGE = "/settings/security/provisioning"


def test_page_shows_base_url_field_names_and_instructions(admin_client):
    html = admin_client.get(PAGE).get_data(as_text=True)
    assert 'value="https://portal.test/scim/v2/acme"' in html and 'data-copy="scim-base-url"' in html
    for text in ("SCIM connector base URL", "Unique identifier field for users: userName",
                 "Authentication Mode: HTTP Header", "Tenant URL", "Secret Token", "Connect Okta",
                 "Connect Microsoft Entra ID", "Recent provisioning activity", "Choose a role…"):
        assert text in html, text
    assert "selected" not in html.split('id="role"', 1)[1].split("</select>", 1)[0]  # no role preselected


def test_navigation_and_sso_page_link_here(admin_client):
    assert f'href="{PAGE}"' in admin_client.get("/").get_data(as_text=True)
    assert f'href="{PAGE}"' in admin_client.get("/settings/security/sso").get_data(as_text=True)


def test_create_token_shows_it_once_and_it_works(admin_client, account):
    response = admin_client.post(f"{PAGE}/tokens", data={"name": "Okta", "csrf_token": csrf_token(admin_client, PAGE)})
    assert response.status_code == 200
    token = re.search(r'id="new-token" type="text" value="(scim_[^"]+)"', response.get_data(as_text=True)).group(1)
    assert Scim(admin_client, "acme", token).get("/Users").status_code == 200
    again = admin_client.get(PAGE).get_data(as_text=True)
    assert token not in again and "Okta" in again
    with admin_client.session_transaction() as sess:
        assert token not in str(dict(sess))  # never in the (signed, readable) session cookie


def test_create_token_refused_without_csrf(admin_client, account):
    assert admin_client.post(f"{PAGE}/tokens", data={"name": "Okta"}).status_code == 400
    assert tokens.list_tokens(account) == []


def test_revoke_asks_for_confirmation_naming_the_consequence_then_revokes(admin_client, account):
    row, value = tokens.create_token(account, "Okta")
    db.session.commit()
    confirm = admin_client.get(f"{PAGE}/tokens/{row.id}/revoke")
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Okta" in text and "provisioning with it" in text and "Cancel" in text
    assert tokens.list_tokens(account) != []  # the GET changes nothing
    done = admin_client.post(f"{PAGE}/tokens/{row.id}/revoke",
                             data={"csrf_token": csrf_token(admin_client, PAGE), "confirm": "yes"})
    assert done.status_code == 302 and tokens.list_tokens(account) == []
    assert Scim(admin_client, "acme", value).get("/Users").status_code == 401


def test_another_accounts_token_is_404_here(admin_client, other_account):
    theirs, _ = tokens.create_token(other_account, "Theirs")
    missing = admin_client.get(f"{PAGE}/tokens/999999/revoke")
    other = admin_client.get(f"{PAGE}/tokens/{theirs.id}/revoke")
    assert other.status_code == missing.status_code == 404
    assert other.get_data() == missing.get_data()
    assert admin_client.post(f"{PAGE}/tokens/{theirs.id}/revoke",
                             data={"csrf_token": csrf_token(admin_client, PAGE)}).status_code == 404
    assert theirs.revoked_at is None


def test_default_role_setting_is_audited_and_needs_a_choice(admin_client, account):
    token = csrf_token(admin_client, PAGE)
    refused = admin_client.post(f"{PAGE}/default-role", data={"role": "", "csrf_token": token})
    assert refused.status_code == 422 and "Choose a role." in refused.get_data(as_text=True)
    assert admin_client.post(f"{PAGE}/default-role", data={"role": "Developer", "csrf_token": token}).status_code == 302
    assert account.default_role_id == Role.by_name("Developer").id
    admin_client.post(f"{PAGE}/default-role", data={"role": "none", "csrf_token": token})
    assert account.default_role_id is None
    events = list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.event_type == "account.default_role_changed").order_by(AuditEvent.id)))
    assert [(e.details["before"], e.details["after"]) for e in events] == [(None, "Developer"), ("Developer", None)]


def test_recent_activity_lists_failures_first(admin_client, account):
    _row, value = tokens.create_token(account, "Okta")
    db.session.commit()
    scim = Scim(admin_client, "acme", value)
    scim.post("/Users", okta_user("ok@acme.test"))
    scim.post("/Users", {"userName": "not an email"})
    scim.post("/Users", okta_user("ok2@acme.test"))
    html = admin_client.get(PAGE).get_data(as_text=True).split("Recent provisioning activity", 1)[1]
    order = [m for m in re.findall(r"scim\.(?:user\.created|request\.refused)", html)]
    assert order == ["scim.request.refused", "scim.user.created", "scim.user.created"]


def test_revoke_without_the_confirmation_step_does_nothing(admin_client, account):
    row, value = tokens.create_token(account, "Okta")
    db.session.commit()
    url = f"{PAGE}/tokens/{row.id}/revoke"
    refused = admin_client.post(url, data={"csrf_token": csrf_token(admin_client, PAGE)})
    assert refused.status_code == 422 and "Nothing was done" in refused.get_data(as_text=True)
    assert [t.id for t in tokens.list_tokens(account)] == [row.id]
    assert Scim(admin_client, "acme", value).get("/Users").status_code == 200
