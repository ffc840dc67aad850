"""Require SSO with break-glass admins: the login page, the safeguards against lock-out, the CLI and the audit."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, RememberToken, User
from portal.sso.setup import settings as service
from portal.sso.setup.settings import SettingsChange, SettingsError
from tests.helpers import PASSWORD, PortalClient, csrf_token, login

PAGE = "/settings/security/sso"


def _events(event_type: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)
                                   .order_by(AuditEvent.id)))


def _require(account) -> None:
    account.sso_config.require_sso = True
    db.session.commit()


def test_turning_it_on_is_refused_while_it_could_lock_the_account_out(account, admin, idp, runner):
    with pytest.raises(SettingsError, match="Turn on SSO"):
        service.apply(account, SettingsChange(require_sso=True), actor=admin)
    db.session.rollback()
    from tests.sso.helpers import configure_sso
    configure_sso(account, idp)
    with pytest.raises(SettingsError, match="No Account admin has signed in with SSO or passed Test SSO"):
        service.apply(account, SettingsChange(require_sso=True), actor=admin)
    db.session.rollback()
    result = runner.invoke(args=["sso-config", "set", "acme", "--require-sso"])
    assert result.exit_code == 1 and "could lock everyone out" in result.output
    assert db.session.get(User, admin.id).account.sso_config.require_sso is False


@pytest.mark.parametrize("proof", ["sso_login", "test_sso", "break_glass"])
def test_turning_it_on_is_allowed_after_a_proof(flow, sso_account, admin, runner, proof):
    if proof == "sso_login":
        assert flow.login("admin@acme.test").status_code == 303
    elif proof == "test_sso":
        from portal.models import SsoTestResult
        db.session.add(SsoTestResult(account_id=sso_account.id, reference="SSO-ABCDEFGH", outcome="success",
                                     tester_email=admin.email, email=admin.email, details={}))
        db.session.commit()
    else:
        assert runner.invoke(args=["users", "break-glass", "acme", admin.email, "--on"]).exit_code == 0
    result = runner.invoke(args=["sso-config", "set", "acme", "--require-sso"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["sso-config", "show", "acme", "--json"]).output.count('"require_sso": true') == 1
    event = _events("sso.settings_updated")[-1]
    assert event.details["changes"]["require_sso"] == {"old": False, "new": True}


def test_a_member_with_the_right_password_is_sent_to_sso(client, sso_account, member):
    _require(sso_account)
    response = login(client, member.email)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "requires single sign-on" in page
    assert 'href="https://portal.test/login/saml/acme"' in page and client.get("/").status_code == 302
    event = _events("login.password")[-1]
    assert event.outcome == "failure" and event.reason == "sso_required" and event.subject == member.email


def test_a_wrong_password_gets_the_usual_answer(client, sso_account, member):
    plain = login(client, "someone@else.test", "wrong password")
    _require(sso_account)
    refused = login(client, member.email, "wrong password")
    assert refused.status_code == plain.status_code == 200
    text = refused.get_data(as_text=True)
    assert "Wrong email or password." in text and "requires single sign-on" not in text
    assert _events("login.password")[-1].reason == "wrong_password"


def test_break_glass_admin_signs_in_and_is_audited_and_listed(app, client, sso_account, admin, member, runner):
    assert runner.invoke(args=["users", "break-glass", "acme", member.email, "--on"]).exit_code == 1  # not an admin
    assert runner.invoke(args=["users", "break-glass", "acme", admin.email, "--on"]).exit_code == 0
    _require(sso_account)
    assert login(client, admin.email).status_code == 302
    (event,) = _events("login.password.break_glass")
    assert event.subject == admin.email and event.outcome == "success"
    assert [e.reason for e in _events("login.password")] == []  # recorded instead of the ordinary event
    page = client.get(PAGE).get_data(as_text=True)
    assert "Recent break-glass logins" in page and admin.email in page
    # Unmarked, the same admin is sent to SSO like everyone else.
    assert runner.invoke(args=["users", "break-glass", "acme", admin.email, "--off"]).exit_code == 0
    other = app.test_client()
    assert "requires single sign-on" in login(other, admin.email).get_data(as_text=True)


def test_require_sso_is_ignored_while_sso_is_off(client, sso_account, member):
    _require(sso_account)
    sso_account.sso_config.enabled = False
    db.session.commit()
    assert login(client, member.email).status_code == 302


def test_the_settings_page_switch_and_its_refusal(admin_client, sso_account, admin):
    token = csrf_token(admin_client, PAGE)
    refused = admin_client.post(PAGE, data={"csrf_token": token, "section": "require_sso", "require_sso": "y", "confirm": "yes"})
    assert refused.status_code == 422 and "could lock everyone out" in refused.get_data(as_text=True)
    admin_client.post(f"/admin/users/{admin.id}/break-glass", data={"csrf_token": token, "confirm": "yes"})
    assert db.session.get(User, admin.id).break_glass is True
    saved = admin_client.post(PAGE, data={"csrf_token": token, "section": "require_sso", "require_sso": "y", "confirm": "yes"})
    assert saved.status_code == 302
    db.session.expire_all()
    assert sso_account.sso_config.require_sso is True


def _browser(app):
    app.test_client_class = PortalClient  # each request in its own app context, as in production
    return app.test_client()


def _password_browser(app, email: str, remember: bool = True):
    browser = _browser(app)
    data = {"email": email, "password": PASSWORD, "csrf_token": csrf_token(browser, "/login")}
    if remember:
        data["remember"] = "y"
    assert browser.post("/login", data=data).status_code == 302
    return browser


def _only_remembered(app, cookie: str):
    """A browser restarted: only its remember-me cookie is left."""
    fresh = _browser(app)
    fresh.set_cookie("portal_remember", cookie)
    return fresh


def _remembered(browser) -> str:
    return browser.get_cookie("portal_remember").value


def test_turning_it_on_ends_password_sessions_and_remember_me_except_break_glass(app, flow, sso_account, admin,
                                                                                 member, runner):
    members_laptop = _password_browser(app, member.email)
    admins_laptop = _password_browser(app, admin.email)
    members_cookie, admins_cookie = _remembered(members_laptop), _remembered(admins_laptop)
    assert flow.login(member.email).status_code == 303  # the member's SSO session in another browser
    assert runner.invoke(args=["users", "break-glass", "acme", admin.email, "--on"]).exit_code == 0
    assert runner.invoke(args=["sso-config", "set", "acme", "--require-sso"]).exit_code == 0
    # The member's password session and "Keep me signed in" end at once; the SSO session stays.
    assert members_laptop.get("/").status_code == 302
    assert _only_remembered(app, members_cookie).get("/").status_code == 302
    assert flow.client.get("/").status_code == 200
    # The break-glass admin may still use a password, so theirs stay.
    assert admins_laptop.get("/").status_code == 200
    assert _only_remembered(app, admins_cookie).get("/").status_code == 200
    assert _events("sso.settings_updated")[-1].details["password_sessions_ended"] == 1


def test_a_remember_me_cookie_never_starts_a_session_a_password_login_would_refuse(app, sso_account, member):
    laptop = _password_browser(app, member.email)
    _require(sso_account)  # however it came on (another server, an operator's SQL): the cookie is judged on use
    restarted = _only_remembered(app, _remembered(laptop))
    assert restarted.get("/").status_code == 302
    assert db.session.scalar(select(RememberToken).where(RememberToken.user_id == member.id)) is None
    assert restarted.get_cookie("portal_remember") is None  # and the browser is told to forget it
