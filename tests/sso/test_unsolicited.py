"""IdP-initiated logins (dashboard tiles): never accepted, restarted as SP-initiated, bounded, RelayState checked."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from devtools.saml_idp import KeyPair
from portal.extensions import db
from portal.models import AuditEvent, SeenAssertion, User, utcnow
from portal.sso import unsolicited
from tests.sso.helpers import sso_events


def restarts(account) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.account_id == account.id, AuditEvent.event_type == "sso.unsolicited_restarted")
        .order_by(AuditEvent.id)))


def tile(flow, email="admin@acme.test", relay_state=None, remote="127.0.0.1", **options):
    """The IdP's unsolicited post to the ACS, as a dashboard tile makes it."""
    form = flow.idp.idp_initiated(flow.metadata(), email, relay_state, **options)
    return flow.client.post(f"/login/saml/{flow.account.domain}/callback", data=form,
                            environ_base={"REMOTE_ADDR": remote})


def finish(flow, restart, email="admin@acme.test"):
    """Follow the restart: SP Initiation URL → IdP (still signed in there) → ACS."""
    response = flow.client.get(restart.headers["Location"])
    assert response.status_code == 302, response.get_data(as_text=True)
    request = flow.idp.receive(flow.metadata(), response.headers["Location"])
    return flow.post(flow.respond(request, email), relay_state=request.relay_state)


def test_tile_is_restarted_as_sp_initiated_and_lands_signed_in(flow, admin):
    response = tile(flow, relay_state="/admin/teams")
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login/saml/acme"
    assert parse_qs(location.query) == {"next": ["/admin/teams"], "restarted": ["1"]}
    # The unsolicited response itself signs nobody in and leaves nothing behind but its audit event.
    assert flow.client.get("/").status_code == 302
    assert sso_events(flow.account) == []
    assert db.session.scalar(select(func.count()).select_from(SeenAssertion)) == 0
    [event] = restarts(flow.account)
    assert event.outcome == "warning" and event.reason == "unsolicited_restarted"
    assert event.details["next_url"] == "/admin/teams" and not event.details["relay_state_refused"]
    assert "https://portal.test/login/saml/acme" in event.details["fix"] and event.details["reference"]

    done = finish(flow, response)
    assert done.status_code == 303 and done.headers["Location"] == "/admin/teams"  # Default RelayState honoured
    assert flow.client.get("/").status_code == 200
    assert [e.outcome for e in sso_events(flow.account)] == ["success"]


@pytest.mark.parametrize("relay_state", ["https://evil.test/", "//evil.test/x", "/login/saml/globex",
                                         "javascript:alert(1)", "", "/login/%73aml/beta", "/login/saml%2Fbeta",
                                         "/x/../login/saml/beta", "/./login/saml/beta"])
def test_relay_state_is_honoured_only_as_a_safe_portal_path(flow, admin, relay_state):
    response = tile(flow, relay_state=relay_state)
    assert parse_qs(urlsplit(response.headers["Location"]).query)["next"] == ["/"]
    assert restarts(flow.account)[-1].details["relay_state_refused"] is bool(relay_state)
    assert finish(flow, response).headers["Location"] == "/"


@pytest.mark.parametrize("options", [
    dict(sign_response=False, sign_assertion=False),  # unsigned
    dict(key="attacker"),  # signed by another key
    dict(audience="https://elsewhere.test"),  # meant for another SP
])
def test_content_of_an_unsolicited_response_is_never_trusted(flow, idp_keys, options):
    flow.account.sso_config.auto_create_users = True
    db.session.commit()
    if "key" in options:
        options["key"] = idp_keys[options["key"]]
    response = tile(flow, "mallory@acme.test", **options)
    assert response.status_code == 303 and "restarted=1" in response.headers["Location"]
    assert User.by_email("mallory@acme.test") is None
    assert flow.client.get("/").status_code == 302
    # Whoever the IdP signs in by the SP-initiated login is who lands, not the unsolicited NameID.
    finish(flow, response, "admin@acme.test")
    assert User.by_email("mallory@acme.test") is None


def test_relay_state_is_carried_in_its_judged_form(flow, admin):
    response = tile(flow, relay_state="/x/../admin/%74eams")
    assert parse_qs(urlsplit(response.headers["Location"]).query)["next"] == ["/admin/teams"]
    assert finish(flow, response).headers["Location"] == "/admin/teams"


def test_with_sso_off_an_unsolicited_response_is_refused_not_restarted(flow):
    flow.account.sso_config.enabled = False
    db.session.commit()
    response = tile(flow)
    assert response.status_code == 400 and "Location" not in response.headers
    assert sso_events(flow.account)[-1].reason == "sso_disabled"
    assert restarts(flow.account) == []


def test_restart_loop_is_bounded_per_browser(flow, admin):
    # A broken IdP answers every AuthnRequest with an unsolicited response: the browser would bounce for ever.
    for _ in range(unsolicited.MAX_RESTARTS):
        response = tile(flow)
        assert flow.client.get(response.headers["Location"]).status_code == 302  # on to the IdP
    response = tile(flow)
    stopped = flow.client.get(response.headers["Location"])
    page = stopped.get_data(as_text=True)
    assert stopped.status_code == 400 and "Location" not in stopped.headers
    failure = sso_events(flow.account, "failure")[-1]
    assert failure.reason == "unsolicited_response" and failure.details["reference"] in page
    assert f"{unsolicited.MAX_RESTARTS} times" in failure.details["fix"]
    # Another browser is not held up, and a plain SP-initiated login from this one still works.
    other = flow.client.application.test_client()
    assert other.get(response.headers["Location"]).status_code == 302
    assert flow.login().status_code == 303


def test_a_completed_login_resets_the_counter(flow, admin):
    for _ in range(unsolicited.MAX_RESTARTS + 2):  # clicking the tile again and again, each login completing
        assert finish(flow, tile(flow)).status_code == 303
    assert flow.client.get("/").status_code == 200


def test_unsigned_unsolicited_flood_is_bounded_and_counted(flow, monkeypatch):
    frozen = utcnow()
    monkeypatch.setattr(unsolicited, "utcnow", lambda: frozen)
    big = {f"http://evil.test/attr{i}": ["x" * 190] * 20 for i in range(20)}
    for i in range(25):
        response = tile(flow, attributes=big, sign_response=False, sign_assertion=False, remote=f"198.51.100.{i}")
        assert response.status_code == 303
    events = restarts(flow.account)
    assert len(events) == 20
    assert all(len(json.dumps(e.details["sent"])) <= 2048 for e in events)
    [counted] = db.session.scalars(select(AuditEvent).where(AuditEvent.account_id == flow.account.id,
                                                            AuditEvent.event_type == "sso.login_failures_counted"))
    assert counted.details["count"] == 5 and counted.details["last_reason"] == "unsolicited_restarted"


def test_a_tile_signed_by_another_key_naming_the_accounts_certificate_is_bounded(flow, idp_keys, monkeypatch):
    # KeyInfo carries acme's public IdP certificate, the signature is the attacker's: not signed by acme's IdP.
    frozen = utcnow()
    monkeypatch.setattr(unsolicited, "utcnow", lambda: frozen)
    attacker, main = idp_keys["attacker"], idp_keys["main"]
    posing = KeyPair(key_path=attacker.key_path, cert_path=main.cert_path, cert_pem=main.cert_pem)
    big = {f"http://evil.test/attr{i}": ["x" * 190] * 20 for i in range(20)}
    for i in range(25):
        assert tile(flow, attributes=big, key=posing, remote=f"198.51.100.{i}").status_code == 303
    events = restarts(flow.account)
    assert len(events) == 20 and all(len(json.dumps(e.details["sent"])) <= 2048 for e in events)


def test_a_tile_the_accounts_idp_signed_keeps_its_full_summary(flow):
    big = {f"http://evil.test/attr{i}": ["x" * 190] * 20 for i in range(20)}
    assert tile(flow, attributes=big).status_code == 303
    [event] = restarts(flow.account)
    assert len(json.dumps(event.details["sent"])) > 2048
