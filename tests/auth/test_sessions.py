"""Server-side sessions: every way a session ends, on every server, and what a copied cookie gets afterwards."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.directory import users
from portal.extensions import db
from portal.models import AuditEvent, RememberToken, User, UserSession, utcnow
from tests.helpers import PASSWORD, csrf_token, login


def _copy(client, app):
    """Another browser holding copies of client's cookies (as a thief or a second tab would)."""
    other = app.test_client()
    for cookie in client._cookies.values():
        other.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return other


def _signed_in(client) -> bool:
    response = client.get("/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def _post(client, path: str, page: str = "/account", **data):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


def _sessions(user) -> list[UserSession]:
    db.session.expire_all()
    return list(db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)))


def test_a_session_is_a_row_and_the_cookie_holds_no_user_secret(admin_client, admin):
    (row,) = _sessions(admin)
    assert row.method == "password" and row.account_id == admin.account_id
    with admin_client.session_transaction() as cookie:
        assert len(cookie["sid"]) >= 40 and row.token_hash != cookie["sid"]  # only its SHA-256 is stored


def test_logout_ends_the_session_on_every_server_and_a_copied_cookie_gets_the_login_page(
        app, admin_client, admin, second_server):
    thief = _copy(admin_client, app)
    elsewhere = _copy(admin_client, second_server)
    assert _signed_in(thief) and _signed_in(elsewhere)
    assert _post(admin_client, "/logout", "/").status_code == 302
    assert _sessions(admin) == []
    response = elsewhere.get("/admin/users")
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=%2Fadmin%2Fusers"
    assert not _signed_in(thief)


def test_logout_on_one_device_leaves_the_others_signed_in(app, client, admin):
    laptop, phone = app.test_client(), app.test_client()
    assert login(laptop, admin.email).status_code == 302 and login(phone, admin.email).status_code == 302
    assert len(_sessions(admin)) == 2
    _post(laptop, "/logout", "/")
    assert not _signed_in(laptop) and _signed_in(phone)


def test_remember_me_survives_a_browser_restart_but_not_logout(app, client, admin):
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": admin.email, "password": PASSWORD, "remember": "y",
                                           "csrf_token": token})
    assert response.status_code == 302 and "portal_remember=" in response.headers.get("Set-Cookie", "")
    assert "remember_token" not in response.headers.get("Set-Cookie", "")  # Flask-Login's own is never set
    stolen = _copy(client, app)
    # The browser restarts: the session cookie is gone, the remember-me cookie stays.
    restarted = app.test_client()
    restarted.set_cookie("portal_remember", client.get_cookie("portal_remember").value)
    assert _signed_in(restarted)
    assert {s.method for s in _sessions(admin)} == {"password", "remember"}
    # Logging out in the restarted browser ends its session and the remember-me token it came from.
    _post(restarted, "/logout", "/")
    assert db.session.scalar(select(RememberToken)) is None
    fresh = app.test_client()
    fresh.set_cookie("portal_remember", stolen.get_cookie("portal_remember").value)
    assert not _signed_in(fresh)


def test_remember_me_is_stored_hashed_and_expires(app, client, admin):
    client.post("/login", data={"email": admin.email, "password": PASSWORD, "remember": "y",
                                "csrf_token": csrf_token(client, "/login")})
    value = client.get_cookie("portal_remember").value
    row = db.session.scalar(select(RememberToken))
    assert row.token_hash != value and len(row.token_hash) == 64
    assert timedelta(days=13, hours=23) < row.expires_at - row.created_at <= timedelta(days=14)
    db.session.execute(update(RememberToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert not _signed_in(client)


@pytest.mark.parametrize("column", ["expires_at", "last_seen_at"])
def test_absolute_and_idle_expiry_send_the_user_to_log_in_and_back(admin_client, admin, column):
    past = utcnow() - (timedelta(seconds=1) if column == "expires_at" else timedelta(hours=2, seconds=1))
    db.session.execute(update(UserSession).values(**{column: past}))
    db.session.commit()
    response = admin_client.get("/admin/teams?x=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fadmin%2Fteams%3Fx%3D1"
    assert "Your session has ended" in admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert _sessions(admin) == []  # the expired row is gone
    # Signing in again lands on the page they were on.
    token = csrf_token(admin_client, "/login")
    again = admin_client.post("/login?next=/admin/teams%3Fx%3D1",
                              data={"email": admin.email, "password": PASSWORD, "csrf_token": token})
    assert again.headers["Location"] == "/admin/teams?x=1"


@pytest.mark.parametrize("app_config", [{"SESSION_IDLE_TIMEOUT": 3600}])
def test_every_request_restarts_the_idle_timer(admin_client, admin, app_config):
    almost = utcnow() - timedelta(seconds=3500)
    db.session.execute(update(UserSession).values(last_seen_at=almost))
    db.session.commit()
    assert _signed_in(admin_client)
    (row,) = _sessions(admin)
    assert row.last_seen_at > utcnow() - timedelta(seconds=5)


@pytest.mark.parametrize("app_config", [{"SESSION_LIFETIME": 600}])
def test_session_lifetime_setting(admin_client, admin, app_config):
    (row,) = _sessions(admin)
    assert timedelta(seconds=599) <= row.expires_at - row.created_at <= timedelta(seconds=600)


def test_deactivation_ends_sessions_on_every_server_at_the_next_request(
        app, admin, member, member_client, second_server, runner):
    elsewhere = _copy(member_client, second_server)
    assert _signed_in(elsewhere)
    result = runner.invoke(args=["users", "deactivate", "acme", member.email])
    assert result.exit_code == 0, result.output
    assert not _signed_in(member_client) and not _signed_in(elsewhere)
    users.set_active(admin.account, db.session.get(User, member.id), True)
    db.session.commit()
    assert not _signed_in(elsewhere)  # reactivation never revives the ended session
    assert login(member_client, member.email).status_code == 302


def test_admin_page_deactivation_and_sign_out_everywhere(app, admin_client, admin, member):
    phone = app.test_client()
    assert login(phone, member.email).status_code == 302
    page = f"/admin/users/{member.id}"
    assert "Sign out everywhere" in admin_client.get(page).get_data(as_text=True)
    response = _post(admin_client, f"/admin/users/{member.id}/sign-out", page, confirm="yes")
    assert response.status_code == 302 and not _signed_in(phone)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "user.signed_out"))
    assert event.subject == member.email and event.actor_email == admin.email and event.details["sessions_ended"] == 1
    assert login(phone, member.email).status_code == 302  # they may sign in again
    _post(admin_client, f"/admin/users/{member.id}/deactivate", page, confirm="yes")
    assert not _signed_in(phone)


def test_cli_sign_out_ends_sessions_within_one_request(app, runner, member, member_client, second_server):
    elsewhere = _copy(member_client, second_server)
    result = runner.invoke(args=["users", "sign-out", "acme", member.email])
    assert result.exit_code == 0 and "1 session ended" in result.output
    assert not _signed_in(member_client) and not _signed_in(elsewhere)
    assert runner.invoke(args=["users", "sign-out", "acme", "nobody@acme.test"]).exit_code == 1


def test_own_sessions_page_signs_out_one_device_or_all(app, client, admin):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, admin.email)
    login(phone, admin.email, )
    page = laptop.get("/account").get_data(as_text=True)
    assert page.count("Sign out</button>") == 2 and "this browser" in page
    phone_row = max(_sessions(admin), key=lambda s: s.id)
    assert _post(laptop, f"/account/sessions/{phone_row.id}/end").status_code == 302
    assert not _signed_in(phone) and _signed_in(laptop)
    login(phone, admin.email)
    step = _post(laptop, "/account/sessions/end-all")  # the page's button: the confirmation step first
    assert step.status_code == 200 and "this browser included" in step.get_data(as_text=True)
    assert _signed_in(phone) and _signed_in(laptop)
    response = _post(laptop, "/account/sessions/end-all", confirm="yes")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not _signed_in(phone) and not _signed_in(laptop)  # the asking session ends too


def test_another_users_session_answers_404(app, admin_client, member):
    phone = app.test_client()
    login(phone, member.email)
    (row,) = _sessions(member)
    assert _post(admin_client, f"/account/sessions/{row.id}/end").status_code == 404
    assert _signed_in(phone)


def test_password_change_ends_every_other_session(app, client, admin):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, admin.email)
    login(phone, admin.email)
    wrong = _post(laptop, "/account/password", current_password="nope", new_password="new password 1",
                  confirm="new password 1")
    assert wrong.status_code == 422 and "current password is wrong" in wrong.get_data(as_text=True)
    assert _signed_in(phone)
    response = _post(laptop, "/account/password", current_password=PASSWORD, new_password="new password 1",
                     confirm="new password 1")
    assert response.status_code == 302
    assert _signed_in(laptop) and not _signed_in(phone)
    assert login(phone, admin.email, "new password 1").status_code == 302
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "user.password_changed"))
    assert event.details["sessions_ended"] == 1


def test_deactivation_then_reactivation_before_any_request_does_not_revive_the_session(
        app, admin, member, member_client):
    account = admin.account
    user = db.session.get(User, member.id)
    users.set_active(account, user, False, actor=admin)
    users.set_active(account, user, True, actor=admin)
    db.session.commit()
    assert _sessions(member) == [] and not _signed_in(member_client)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "user.deactivated"))
    assert event.details["sessions_ended"] == 1


def test_a_cookie_of_a_deleted_user_gets_nothing(app, member, member_client):
    db.session.delete(db.session.get(User, member.id))
    db.session.commit()
    assert not _signed_in(member_client)


def test_scim_requests_neither_open_the_cookie_session_nor_load_its_user(app, client, admin):
    from flask import session
    from flask.sessions import NullSession
    from sqlalchemy import event

    response = client.post("/login", data={"email": admin.email, "password": PASSWORD, "remember": "y",
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302 and client.get_cookie("portal_remember") is not None
    seen: list[str] = []

    def statement(_conn, _cursor, sql, *_args):
        seen.append(sql)
    event.listen(db.engine, "before_cursor_execute", statement)
    try:
        answer = client.get("/scim/v2/acme/Users")  # a signed-in browser's cookies, no bearer token
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
    assert answer.status_code == 401 and "Set-Cookie" not in answer.headers and "Vary" not in answer.headers
    assert not [s for s in seen if "user_session" in s or "remember_token" in s]  # no user loaded from cookies
    with app.test_request_context("/scim/v2/acme/Users"):
        assert isinstance(session._get_current_object(), NullSession)
    with app.test_request_context("/login"):
        assert not isinstance(session._get_current_object(), NullSession)
    assert _signed_in(client)  # still signed in
