"""Every admin and settings page refuses a signed-in user without the permission, and anonymous users."""
import re

from portal import create_app
from tests.helpers import make_config

PUBLIC = {"static", "auth.login", "auth.login_sso", "auth.logout", "auth.dashboard", "sso.start", "sso.callback",
          "sso.metadata"}


def _admin_rules(tmp_path):
    app = create_app(make_config(tmp_path))
    return sorted((rule.endpoint, rule.rule, sorted(rule.methods - {"HEAD", "OPTIONS"}))
                  for rule in app.url_map.iter_rules() if rule.endpoint not in PUBLIC)


def test_there_are_admin_pages_to_check(tmp_path):
    endpoints = {endpoint for endpoint, _rule, _methods in _admin_rules(tmp_path)}
    assert {"admin.teams", "admin.users", "admin.audit", "sso.settings"} <= endpoints


def _url(rule: str) -> str:
    """A concrete URL for a rule: ids 1 (acme's first rows), other parts 'acme'."""
    return re.sub(r"<[^>]+>", "acme", re.sub(r"<int:[^>]+>", "1", rule))


def test_member_without_permission_gets_403_everywhere(member_client, tmp_path):
    for endpoint, rule, methods in _admin_rules(tmp_path):
        for method in methods:
            response = member_client.open(_url(rule), method=method, data={})
            # POSTs without a CSRF token may stop at CSRF (400) before the permission check: both refuse.
            assert response.status_code in ((403,) if method == "GET" else (400, 403)), (endpoint, method)


def test_anonymous_is_sent_to_login_everywhere(client, account, tmp_path):
    for endpoint, rule, methods in _admin_rules(tmp_path):
        if "GET" in methods:
            response = client.get(_url(rule))
            assert response.status_code == 302 and "/login" in response.headers["Location"], endpoint
