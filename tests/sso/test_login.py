"""SP-initiated SSO login end to end: portal → pysaml2 test IdP → ACS → dashboard."""
from __future__ import annotations

import base64
import zlib
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from devtools.saml_idp import NAMEID_FORMAT_EMAILADDRESS, post_form
from portal.extensions import db
from portal.models import PendingAuthnRequest, User
from tests.sso.helpers import cross_site_client, sso_events


def test_happy_path_lands_on_dashboard(flow, client, admin):
    response = flow.login("admin@acme.test")
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "admin@acme.test" in page.get_data(as_text=True)
    with client.session_transaction() as session:
        assert session["_user_id"] == str(admin.id)
    events = sso_events(flow.account)
    assert [(e.outcome, e.reason, e.subject) for e in events] == [("success", "", "admin@acme.test")]
    user = User.by_email("admin@acme.test")
    assert user.last_login_at is not None and user.last_sso_login_at == user.last_login_at


def test_email_is_matched_case_insensitively(flow, admin):
    assert flow.login("Admin@ACME.test").status_code == 303
    with flow.client.session_transaction() as session:
        assert session["_user_id"] == str(admin.id)


def test_authn_request_asks_for_email_without_force_authn(flow):
    request = flow.start("/admin/users")
    assert request.nameid_format == NAMEID_FORMAT_EMAILADDRESS
    assert request.force_authn is False
    assert request.acs_url == "https://portal.test/login/saml/acme/callback"
    assert request.sp_entity_id == "https://portal.test/login/saml/acme"
    pending = db.session.get(PendingAuthnRequest, request.request_id)
    assert pending.account_id == flow.account.id and pending.next_url == "/admin/users"
    assert 590 <= (pending.expires_at - pending.created_at).total_seconds() <= 600


def test_redirect_uses_http_redirect_binding_to_idp_login_url(client, sso_account, idp):
    location = client.get("/login/saml/acme").headers["Location"]
    assert location.startswith(idp.sso_url + "?")
    query = parse_qs(urlsplit(location).query)
    xml = zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15).decode()
    assert "AuthnRequest" in xml and 'ForceAuthn="true"' not in xml


def test_target_path_is_kept(flow, admin):
    response = flow.login("admin@acme.test", next_target="/admin/users?page=2")
    assert response.headers["Location"] == "/admin/users?page=2"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
                                    "http:/evil.example", " /x", "\t//evil.example",
                                    "/login/%73aml/beta", "/login/saml%2Fbeta", "/x/../login/saml/beta",
                                    "/./login/saml/beta"])
def test_open_redirect_targets_land_on_dashboard(flow, admin, target):
    response = flow.login("admin@acme.test", next_target=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("relay_state", ["https://evil.example/", "//evil.example", "/admin/users"])
def test_relay_state_is_never_a_redirect_target(flow, admin, relay_state):
    request = flow.start()
    response = flow.post(flow.respond(request), relay_state=relay_state)
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_acs_does_not_need_the_session_cookie(flow, app, admin):
    """The IdP's POST is cross-site: SameSite=Lax cookies are not sent with it (only the SameSite=None binding)."""
    request = flow.start("/admin/users")
    other_browser = cross_site_client(app, flow.client)
    response = other_browser.post("/login/saml/acme/callback", data=_form(flow.respond(request)))
    assert response.status_code == 303 and response.headers["Location"] == "/admin/users"
    assert any(c.startswith("session=") for c in response.headers.getlist("Set-Cookie"))
    assert other_browser.get("/").status_code == 200


def test_fresh_session_no_fixation(flow, client, admin, member):
    with client.session_transaction() as sess:
        sess["planted"] = "by attacker"
    assert flow.login("admin@acme.test").status_code == 303
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"] == str(admin.id)


def test_auto_create_users_creates_user_with_names(flow, sso_account):
    sso_account.sso_config.auto_create_users = True
    db.session.commit()
    response = flow.login("new.person@acme.test", first_name="Ada", last_name="Lovelace", groups=["Eng", "Ops"])
    assert response.status_code == 303
    user = User.by_email("new.person@acme.test")
    assert user.account_id == sso_account.id and user.name == "Ada Lovelace" and user.created_via == "sso"
    assert user.password_hash is None and user.roles == []
    assert user.teams == []  # group sync is not part of login itself


def test_auto_create_off_refuses_unknown_email(flow):
    response = flow.login("new.person@acme.test")
    assert response.status_code == 400
    assert "There is no user with your email address in this account" in response.get_data(as_text=True)
    assert User.by_email("new.person@acme.test") is None


def test_unknown_domain_is_404(client):
    assert client.get("/login/saml/nosuchdomain").status_code == 404
    assert client.post("/login/saml/nosuchdomain/callback", data={"SAMLResponse": "x"}).status_code == 404


@pytest.mark.parametrize("change", ["disabled", "no_issuer", "no_login_url"])
def test_sso_off_or_incomplete_shows_contact_admin_page(client, sso_account, change):
    config = sso_account.sso_config
    if change == "disabled":
        config.enabled = False
    elif change == "no_issuer":
        config.idp_issuer = None
    else:
        config.idp_login_url = None
    db.session.commit()
    response = client.get("/login/saml/acme")
    assert response.status_code == 409
    assert "Contact your account admin" in response.get_data(as_text=True)
    assert db.session.scalars(select(PendingAuthnRequest)).all() == []


def test_sso_without_certificate_is_incomplete(client, account):
    config = account.sso_config
    config.enabled, config.idp_issuer, config.idp_login_url = True, "http://www.okta.com/exk1", "https://idp.test/sso"
    db.session.commit()
    assert client.get("/login/saml/acme").status_code == 409


def test_acs_refuses_when_sso_was_turned_off_meanwhile(flow, admin):
    request = flow.start()
    flow.account.sso_config.enabled = False
    db.session.commit()
    response = flow.post(flow.respond(request))
    assert response.status_code == 400  # DESIGN: an ACS refusal of an invalid response is a 400
    assert sso_events(flow.account, "failure")[-1].reason == "sso_disabled"
    assert flow.client.get("/").status_code == 302


def test_acs_is_csrf_exempt_but_other_posts_are_not(app, flow, admin):
    assert app.config["WTF_CSRF_ENABLED"] is True
    request = flow.start()
    assert flow.post(flow.respond(request)).status_code == 303
    assert flow.client.post("/logout").status_code == 400  # no token: refused
    assert flow.client.post("/login/sso", data={"domain": "acme"}).status_code == 400


def _form(xml):
    return post_form(xml)


@pytest.mark.parametrize("signed", [dict(sign_response=False), dict(sign_assertion=False)])
def test_assertion_or_response_signature_is_enough(flow, admin, signed):
    # SAML profiles 4.1.3.5: the assertion is protected by signing it or the whole Response
    # (Okta signs the Assertion; Keycloak signs the Response by default).
    assert flow.login("admin@acme.test", **signed).status_code == 303
