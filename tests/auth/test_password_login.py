"""Password login hardening: throttle counted before the password check, any content type, safe `next`."""
from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent
from tests.helpers import PASSWORD, csrf_token, login


def _failures() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.event_type == "login.password", AuditEvent.outcome == "failure"))


@pytest.mark.parametrize("app_config", [{"PASSWORD_HASH_METHOD": "pbkdf2:sha256:200000"}])
def test_concurrent_wrong_guesses_stay_within_the_limit(app, client, admin, app_config):
    """30 guesses at once against one email: only the 5 the limit allows reach the password check."""
    clients = [app.test_client() for _ in range(30)]
    tokens = [csrf_token(c, "/login") for c in clients]
    barrier, statuses = threading.Barrier(len(clients)), []

    def guess(client, token):
        with app.app_context():
            barrier.wait()
            statuses.append(client.post("/login", data={"email": admin.email, "password": "wrong guess",
                                                        "csrf_token": token}).status_code)
            db.session.remove()

    threads = [threading.Thread(target=guess, args=pair) for pair in zip(clients, tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [200] * 5 + [429] * 25
    assert _failures() == 5  # the password was checked (and audited) only five times


def test_a_json_body_counts_for_the_same_email(app, client, admin):
    token = csrf_token(client, "/login")
    for _ in range(5):
        response = client.post("/login", data=json.dumps({"email": admin.email, "password": "wrong"}),
                               content_type="application/json", headers={"X-CSRFToken": token})
        assert response.status_code == 200
    # The per-email limit (5 per minute) is used up whatever the body's content type, so the form is refused too.
    refused = login(client, admin.email)
    assert refused.status_code == 429 and refused.headers["Retry-After"].isdigit()
    assert _failures() == 5


def test_throttle_answer_and_a_success_that_does_not_count(client, admin):
    for _ in range(4):
        assert login(client, admin.email, "wrong").status_code == 200
    assert login(client, admin.email).status_code == 302  # the fifth attempt succeeds and gives its count back
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert login(client, admin.email, "wrong").status_code == 200
    response = login(client, admin.email, "wrong")
    assert response.status_code == 429 and "Too many attempts" in response.get_data(as_text=True)


@pytest.mark.parametrize("target", ["/login/saml/globex", "/login/saml/acme", "/login/saml/GLOBEX?next=/",
                                    "//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_next_never_leads_off_the_portal(client, admin, account, other_account, target):
    token = csrf_token(client, "/login")
    response = client.post(f"/login?next={target}", data={"email": admin.email, "password": PASSWORD,
                                                           "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_next_inside_the_portal_is_kept(client, admin):
    token = csrf_token(client, "/login")
    response = client.post("/login?next=/admin/audit%3Ftype%3Dsso.login",
                           data={"email": admin.email, "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/admin/audit?type=sso.login"


def test_unknown_email_and_sso_only_user_do_the_same_hash_work(app, client, account, monkeypatch):
    """Timing is measured in bench/login_bench.py; here: every path runs exactly one password-hash check."""
    import portal.auth.service as service
    from portal.directory.users import create_user

    create_user(account, "sso-only@acme.test")
    db.session.commit()
    calls = []
    real = service.check_password_hash
    monkeypatch.setattr(service, "check_password_hash", lambda h, p: calls.append(h) or real(h, p))
    for email in ("nobody@acme.test", "sso-only@acme.test"):
        assert login(client, email, "whatever").status_code == 200
    assert len(calls) == 2
