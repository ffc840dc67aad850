"""Post-login targets are judged on the path the portal routes (decoded, dot segments removed), and that form is used."""
from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest

from portal.security import remove_dot_segments, safe_next_path
from tests.helpers import PASSWORD, csrf_token

# Each routes to another account's SP Initiation URL (which redirects to that account's IdP) once the WSGI server
# percent-decodes the path and the browser resolves its dot segments.
DISGUISED = ["/login/%73aml/beta", "/login/saml%2Fbeta", "/x/../login/saml/beta", "/./login/saml/beta",
             "/login/saml/x/%2e%2e/beta", "/login/%2E/saml/beta", "/%6c%6f%67%69%6e/saml/beta?next=/",
             "/admin/../../login/saml/beta", "/%2F%2Fevil.example/x", "/%5Cevil.example",
             "/x/..//evil.example", "/a%00b", "/%ff"]


@pytest.mark.parametrize("target", DISGUISED)
def test_a_disguised_target_is_refused(app, target):
    with app.test_request_context():
        assert safe_next_path(target) is None


@pytest.mark.parametrize("target, judged", [
    ("/admin/users?page=2", "/admin/users?page=2"),
    ("/admin/%75sers", "/admin/users"),  # stored and redirected to in the form that was judged
    ("/x/../admin/users", "/admin/users"),
    ("/admin/./teams/", "/admin/teams/"),
    ("/a%2520b", "/a%2520b"),  # a literal "%20" stays literal: the browser's one decoding gives back the judged path
    ("/caf%C3%A9", "/caf%C3%A9"),
])
def test_a_portal_path_is_kept_in_its_judged_form(app, target, judged):
    with app.test_request_context():
        assert safe_next_path(target) == judged


@pytest.mark.parametrize("path, resolved", [("/a/b/../c", "/a/c"), ("/a/./b", "/a/b"), ("/..", "/"),
                                            ("/a/..", "/"), ("/a/b/..", "/a/"), ("/a//b", "/a//b"), ("/", "/")])
def test_remove_dot_segments_follows_rfc_3986(path, resolved):
    assert remove_dot_segments(path) == resolved


@pytest.mark.parametrize("target", DISGUISED[:9])
def test_password_login_next(client, admin, other_account, target):
    token = csrf_token(client, "/login")
    response = client.post("/login?next=" + quote(target, safe=""),
                           data={"email": admin.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_password_login_redirects_to_the_judged_form(client, admin):
    token = csrf_token(client, "/login")
    response = client.post("/login?next=" + quote("/x/../admin/%75sers", safe=""),
                           data={"email": admin.email, "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/admin/users"
