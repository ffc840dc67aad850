"""Every page behind a permission, found in app.url_map: a signed-in user without the permission gets exactly 403 on
GET and on POST (with a valid CSRF token, so CSRF cannot answer first) and nothing changes; anonymous users are
sent to /login; every form POST without a CSRF token is refused with 400.

Routes are discovered, not listed: a new page is walked without being named here. Only the few pages that need
no permission are listed, by URL (endpoint names are free to change).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Role
from tests.helpers import csrf_token, make_team
from tests.sso.helpers import add_certificate, make_cert

# Rule strings with every <variable> written as <>.
ANONYMOUS_OK = {"/login", "/login/sso", "/login/saml/<>", "/login/saml/<>/callback", "/login/saml/<>/metadata",
                "/static/<>", "/scim/v2/<>", "/scim/v2/<>/<>"}  # SCIM: bearer tokens, not sessions
SIGNED_IN_OK = {"/", "/logout", "/account", "/account/password", "/account/sessions/<>/end",
                "/account/sessions/end-all"}  # any signed-in user, no permission needed: their own things
# The SCIM service: a bearer-token JSON API with no cookie or form (tests/scim/ walks its auth and scoping).
BEARER_API = {"/scim/v2/<>", "/scim/v2/<>/<>"}
CSRF_EXEMPT = {"/login/saml/<>/callback"} | BEARER_API  # the IdP posts cross-site; SAML validation protects it
MUST_INCLUDE = {"/admin/teams", "/admin/users", "/admin/audit", "/settings/security/sso"}
METHODS = ("GET", "POST")


def _shape(rule: str) -> str:
    return re.sub(r"<[^>]*>", "<>", rule)


def _rules(app, *, exclude) -> list[tuple[str, str]]:
    """(rule, method) for every GET and POST of the app whose shape is not in exclude."""
    return sorted((rule.rule, method) for rule in app.url_map.iter_rules() for method in METHODS
                  if method in rule.methods and _shape(rule.rule) not in exclude)


def _guarded(app) -> list[tuple[str, str]]:
    return _rules(app, exclude=ANONYMOUS_OK | SIGNED_IN_OK)


@pytest.fixture
def rows(account, admin, member):
    """Real acme rows for the ids in the URLs, so a missing check shows as a success, not as a 404."""
    team = make_team(account, "Support", roles=["Developer"], members=[admin, member])
    certificate = add_certificate(account, make_cert().pem)
    db.session.commit()
    return {"team_id": team.id, "user_id": admin.id, "role_id": Role.by_name("Developer").id,
            "cert_id": certificate.id}


def _url(rule: str, rows: dict) -> str:
    """A concrete URL: known ids from rows (acme's own), unknown ints 1, other parts 'acme'."""
    def fill(match):
        converter, _, name = match.group(1).rpartition(":")
        if name in rows:
            return str(rows[name])
        return "1" if converter == "int" else "acme"
    return re.sub(r"<([^>]+)>", fill, rule)


def _snapshot() -> dict:
    """Every row of every table: proves a refused request changed nothing."""
    db.session.expire_all()
    return {table.name: sorted(map(repr, db.session.execute(select(table)).all()))
            for table in db.metadata.sorted_tables}


def test_the_walk_finds_the_admin_and_settings_pages(app):
    shapes = {_shape(rule) for rule, _method in _guarded(app)}
    assert MUST_INCLUDE <= shapes
    assert {method for _rule, method in _guarded(app)} == {"GET", "POST"}


def test_member_without_permission_gets_403_everywhere(app, member_client, rows):
    token = csrf_token(member_client, "/")
    before = _snapshot()
    for rule, method in _guarded(app):
        response = member_client.open(_url(rule, rows), method=method,
                                      data={"csrf_token": token} if method == "POST" else None)
        assert response.status_code == 403, (method, rule, response.status_code)
        assert "You need the permission" in response.get_data(as_text=True), (method, rule)
    assert _snapshot() == before


def test_the_walk_urls_are_real_pages_for_an_admin(app, admin_client, rows):
    """The walk's URLs reach the pages (acme's rows exist), so the 403s above come from the permission check."""
    for rule, method in _guarded(app):
        if method == "GET" and all(name.rpartition(":")[2] in rows for name in re.findall(r"<([^>]+)>", rule)):
            assert admin_client.get(_url(rule, rows)).status_code == 200, rule


def test_anonymous_is_sent_to_login_everywhere(app, client, rows):
    token = csrf_token(client, "/login")
    before = _snapshot()
    for rule, method in _rules(app, exclude=ANONYMOUS_OK):
        response = client.open(_url(rule, rows), method=method,
                               data={"csrf_token": token} if method == "POST" else None)
        assert response.status_code == 302, (method, rule, response.status_code)
        assert urlsplit(response.headers["Location"]).path == "/login", (method, rule)
    assert _snapshot() == before


def test_every_form_post_needs_a_csrf_token(app, admin_client, rows):
    before = _snapshot()
    for rule, method in _rules(app, exclude=CSRF_EXEMPT):
        if method == "POST":
            for data in ({}, {"csrf_token": "forged"}):
                response = admin_client.post(_url(rule, rows), data=data)
                assert response.status_code == 400, (rule, data, response.status_code)
                assert "The form expired or was not sent from this site" in response.get_data(as_text=True)
    assert _snapshot() == before
