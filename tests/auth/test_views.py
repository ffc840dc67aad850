import uuid
from urllib.parse import urlsplit

import pytest
from flask import Blueprint
from sqlalchemy import select

from portal import create_app
from portal.extensions import db
from portal.models import AuditEvent, Role
from portal.permissions import MANAGE_TEAMS, get_owned_or_404, require_permission
from tests.helpers import PASSWORD, PortalClient, csrf_token, login, make_config, page_without_tokens


def test_anonymous_dashboard_redirects_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"


def test_login_shows_dashboard_with_account_admin_role(client, admin):
    response = login(client, "ADMIN@acme.test")
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "admin@acme.test" in page
    assert "Acme" in page
    assert "Account admin" in page
    assert "manage_sso" in page
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "login.password"))
    assert event.outcome == "success" and event.subject == "admin@acme.test"


def test_wrong_password_says_only_wrong_email_or_password(client, admin):
    response = login(client, admin.email, "nope-nope")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Wrong email or password." in page
    unknown = login(client, "ghost@acme.test", "nope-nope").get_data(as_text=True)
    assert "Wrong email or password." in unknown
    assert client.get("/").status_code == 302


def test_inactive_user_cannot_log_in(client, member):
    member.active = False
    db.session.commit()
    response = login(client, member.email)
    assert response.status_code == 200 and "Wrong email or password." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_session_is_renewed_at_login(client, admin):
    client.get("/login")
    with client.session_transaction() as sess:
        sess["planted"] = "by-attacker"
    assert login(client, admin.email).status_code == 302
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"] == str(admin.id)


def test_remember_me_off_by_default(client, admin):
    response = login(client, admin.email)
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("session=") for c in cookies) and not any("remember_token" in c for c in cookies)


def test_logout_requires_post_with_csrf(admin_client):
    assert admin_client.get("/logout").status_code == 405
    assert admin_client.post("/logout").status_code == 400  # no CSRF token
    token = csrf_token(admin_client, "/")
    assert admin_client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert admin_client.get("/").status_code == 302


def test_login_without_csrf_token_refused(client, admin):
    response = client.post("/login", data={"email": admin.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


def test_failed_logins_are_throttled_per_email(client, admin, member):
    for _ in range(5):
        assert login(client, admin.email, "wrong-password").status_code == 200
    response = login(client, admin.email, PASSWORD)
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    # Per email, not per client: another user from the same address still signs in.
    assert login(client.application.test_client(), member.email).status_code == 302


@pytest.mark.parametrize("app_config", [{"LOGIN_LIMIT_PER_IP": "3 per minute"}])
def test_failed_logins_are_throttled_per_ip(client, admin, member):
    for email in ("a@x.test", "b@x.test", "c@x.test"):
        assert login(client, email, "wrong-password").status_code == 200
    assert login(client, admin.email).status_code == 429  # a fresh email, but the same address


def test_successful_logins_do_not_count_towards_throttle(client, admin):
    for _ in range(4):
        assert login(client, admin.email).status_code == 302
        assert client.post("/logout", data={"csrf_token": csrf_token(client, "/")}).status_code == 302
    assert login(client, admin.email).status_code == 302


def test_dashboard_without_roles_shows_friendly_note(member_client):
    page = member_client.get("/").get_data(as_text=True)
    assert "no permissions yet" in page
    assert "ask your account admin" in page.lower()


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_secure_and_httponly_on_https(client, admin):
    cookie = login(client, admin.email).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie


def test_login_sso_redirects_to_sp_initiation_url(client, account):
    token = csrf_token(client, "/login/sso")
    response = client.post("/login/sso", data={"domain": " ACME ", "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/saml/acme"


def test_login_sso_unknown_domain_says_so(client, account):
    token = csrf_token(client, "/login/sso")
    response = client.post("/login/sso", data={"domain": "nope", "csrf_token": token})
    assert response.status_code == 200 and "No account uses this custom domain" in response.get_data(as_text=True)


def test_login_sso_work_email_routes_only_by_a_verified_domain(client, account, other_account):
    from portal.models import EmailDomain, utcnow

    # globex merely lists acme.example (anybody may): that routes nobody.
    db.session.add(EmailDomain(account_id=other_account.id, domain="acme.example", token="b" * 32))
    db.session.commit()
    token = csrf_token(client, "/login/sso")
    response = client.post("/login/sso", data={"domain": "jane@ACME.example", "csrf_token": token})
    assert response.status_code == 200
    db.session.add(EmailDomain(account_id=account.id, domain="acme.example", token="a" * 32,
                               verified_domain="acme.example", verified_at=utcnow()))
    db.session.commit()
    response = client.post("/login/sso", data={"domain": "jane@ACME.example", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login/saml/acme"


def test_login_page_has_sso_button(client):
    page = client.get("/login").get_data(as_text=True)
    assert "Log in with SSO" in page and 'href="/login/sso"' in page


def test_open_redirect_after_login_refused(client, admin):
    token = csrf_token(client, "/login")
    response = client.post("/login?next=//evil.example/x",
                           data={"email": admin.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"


# A probe view using the shared permission decorator and account scoping.
probe = Blueprint("probe", __name__)


@probe.get("/probe/teams/<int:team_id>")
@require_permission(MANAGE_TEAMS)
def probe_team(team_id):
    from portal.models import Team

    return get_owned_or_404(Team, team_id).name


@pytest.fixture
def probe_app(app):
    app.register_blueprint(probe)
    return app


def _team(account, name):
    from portal.models import Team

    team = Team(account=account, name=name)
    db.session.add(team)
    db.session.commit()
    return team


def test_permission_refused_for_non_admin_names_permission(probe_app, member_client, account):
    team = _team(account, "Support")
    response = member_client.get(f"/probe/teams/{team.id}")
    assert response.status_code == 403
    assert "manage_teams" in response.get_data(as_text=True)


def test_permission_granted_through_team_role_at_once(probe_app, member_client, account, member):
    team = _team(account, "Support")
    assert member_client.get(f"/probe/teams/{team.id}").status_code == 403
    from portal.models import TeamMembership

    admins = _team(account, "Admins")
    admins.roles.append(Role.by_name("Account admin"))
    db.session.add(TeamMembership(team=admins, user=member, account_id=account.id, source="manual"))
    db.session.commit()
    assert member_client.get(f"/probe/teams/{team.id}").status_code == 200


def test_cross_account_access_refused(probe_app, admin_client, other_account):
    foreign = _team(other_account, "Globex team")
    response = admin_client.get(f"/probe/teams/{foreign.id}")
    missing = admin_client.get("/probe/teams/999999")
    assert response.status_code == missing.status_code == 404
    assert page_without_tokens(response) == page_without_tokens(missing)  # another account's team answers like a missing one


def test_templates_have_no_inline_styles_or_scripts():
    # The CSP allows only 'self': inline style attributes and inline scripts would be blocked.
    from pathlib import Path

    for path in (Path(__file__).resolve().parents[1] / "portal" / "templates").rglob("*.html"):
        text = path.read_text()
        assert "style=" not in text, path
        assert "<script>" not in text and "onclick=" not in text, path


@pytest.mark.parametrize("app_config", [{"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
                                         "RATELIMIT_KEY_PREFIX": f"portal-test-{uuid.uuid4().hex}"}])
def test_throttle_is_shared_between_workers_through_redis(app, client, admin, tmp_path, app_config):
    for _ in range(5):
        assert login(client, admin.email, "wrong-password").status_code == 200
    # A second app instance (another gunicorn worker) with its own limiter connection sees the same counters.
    other = create_app(make_config(tmp_path, **app_config))
    other.test_client_class = PortalClient
    assert login(other.test_client(), admin.email).status_code == 429
    with other.app_context():
        db.engine.dispose()
