"""Tenant isolation (DESIGN "Tenant isolation"): what a hostile account (globex: its admin and its IdP)
can send or save must not hurt acme or the portal. Each test replays an attack from issue 14."""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from devtools.saml_idp import KeyPair, post_form
from portal.directory.teams import create_team
from portal.directory.users import create_user
from portal.extensions import db
from portal.models import AuditEvent, User, utcnow
from portal.sso.setup import settings as service
from portal.sso.setup.settings import SettingsChange
from tests.sso.helpers import assert_refused, sso_events


def test_catastrophic_group_filter_runs_in_linear_time(flow, hostile_flow, other_account):
    # The hostile admin saves a pattern that backtracks exponentially in Python's re (2^n steps for
    # "a"*n + "b"); RE2 accepts it and matches in linear time, so the login returns at once.
    service.apply(other_account, SettingsChange(group_filter="(a+)+", auto_create_groups=True))
    db.session.commit()
    started = time.monotonic()
    response = hostile_flow.login("eve@globex.test", groups=["a" * 28 + "b", "aaaa"])
    elapsed = time.monotonic() - started
    assert response.status_code == 303, response.get_data(as_text=True)
    assert elapsed < 5, f"the login took {elapsed:.1f}s"
    assert User.by_email("eve@globex.test") is not None
    assert flow.login("admin@acme.test").status_code == 303  # the other account still logs in


@pytest.mark.parametrize("nameid", [
    "\u212aim@acme.test",  # KELVIN SIGN: str.lower() folds it to "k"
    "ＫＩＭ@acme.test",  # full-width letters
    "kіm@acme.test",  # CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I
    "kim@acme.tеst",  # CYRILLIC SMALL LETTER IE in the domain
])
def test_look_alike_nameid_never_signs_in_as_the_ascii_user(flow, nameid):
    kim = create_user(flow.account, "kim@acme.test", via="cli")
    db.session.commit()
    flow.account.sso_config.auto_create_users = True
    db.session.commit()
    event = assert_refused(flow, flow.login(nameid), "nameid_not_email")
    assert "only ASCII addresses are accepted" in event.details["fix"] and "Kelvin sign" in event.details["fix"]
    assert User.by_email("kim@acme.test").id == kim.id and kim.last_login_at is None
    assert db.session.scalar(select(func.count(User.id)).where(User.account_id == flow.account.id)) == 2


@pytest.mark.parametrize("nameid", ["ａdmin@acme.test", "аdmin@acme.test"])  # full-width a, Cyrillic a
def test_hostile_idp_cannot_create_a_look_alike_of_another_accounts_admin(hostile_flow, nameid):
    event = assert_refused(hostile_flow, hostile_flow.login(nameid), "nameid_not_email")
    assert "U+" in event.details["fix"]
    assert db.session.scalar(select(func.count(User.id)).where(User.account_id == hostile_flow.account.id)) == 1


ESCAPES = "\x1b]0;owned\x07\x1b]8;;https://evil.test\x1b\\click\x1b]8;;\x1b\\\x1b[2J\r"
RAW_CONTROLS = ["\x1b", "\x07", "\x9b", "\u202e", "\r"]


def test_cli_never_prints_raw_control_characters_from_stored_data(hostile_flow, runner, other_account):
    # The hostile admin names a team with ESC/OSC sequences; its IdP sends a group and a name carrying
    # what XML can carry (8-bit CSI, a bidi override). The operator then lists and exports that account.
    create_team(other_account, f"Sales{ESCAPES}", actor=None)
    other_account.sso_config.auto_create_groups = True
    db.session.commit()
    response = hostile_flow.login("eve@globex.test", groups=["Ops\x9b2J", "Support\u202egnp.exe"],
                                  first_name="Eve\u202e", last_name="\x9b31mDoe")
    assert response.status_code == 303
    for args in (["teams", "list", "globex"], ["users", "list", "globex"],
                 ["audit", "export", "globex", "--format", "csv"], ["audit", "export", "globex", "--format", "json"],
                 ["teams", "grant", "globex", f"Sales{ESCAPES}", "No such role"]):
        result = runner.invoke(args=args)
        output = result.output.replace("\r\n", "\n")  # the CSV's own line ends
        assert not [c for c in RAW_CONTROLS if c in output], (args, output)
    assert "Sales\\u001b]0;owned\\u0007" in runner.invoke(args=["teams", "list", "globex"]).output


def _junk(flow, ip: str, account=None):
    account = account or flow.account
    return flow.client.post(f"/login/saml/{account.domain}/callback", data={"SAMLResponse": "junk"},
                            environ_base={"REMOTE_ADDR": ip})


def test_acs_throttled_per_client_ip(flow, hostile_flow, other_account):
    # An anonymous client floods acme's ACS: the 61st post in a minute is answered 429 with Retry-After,
    # before anything is read or audited; other clients (acme's people) still sign in.
    for _ in range(60):
        assert _junk(flow, "203.0.113.9").status_code == 400
    audited = len(sso_events(flow.account))
    response = _junk(flow, "203.0.113.9")
    assert response.status_code == 429 and 1 <= int(response.headers["Retry-After"]) <= 60
    assert _junk(flow, "203.0.113.9", account=other_account).status_code == 429  # per IP, whatever the account
    assert len(sso_events(flow.account)) == audited
    assert flow.login("admin@acme.test").status_code == 303  # from the test client's own address


BIG = {f"http://evil.test/attr{i}": ["x" * 190] * 20 for i in range(20)}  # ~80 KB of attribute values


def _flood(flow, monkeypatch, respond) -> list:
    """25 refused posts of respond(request) to acme's ACS from 25 addresses within one minute; the failures."""
    from portal.sso import service
    frozen = utcnow()  # one minute window for all 25 posts, however slow the machine is
    monkeypatch.setattr(service, "utcnow", lambda: frozen)
    for i in range(25):
        request = flow.start()
        response = flow.client.post(f"/login/saml/{flow.account.domain}/callback",
                                    data=post_form(respond(request), request.relay_state),
                                    environ_base={"REMOTE_ADDR": f"198.51.100.{i}"})
        assert response.status_code == 400
    return sso_events(flow.account, "failure")


def test_unsigned_flood_is_bounded_and_counted(flow, hostile_flow, other_account, monkeypatch):
    # globex's IdP (its own key, not acme's) answers acme's real AuthnRequests with big junk responses
    # from many addresses: each refused response is not signed by acme's certificates, so its summary is
    # at most 2 KB, and past 20 in a minute they are counted in one event instead of logged one by one.
    failures = _flood(flow, monkeypatch, lambda request: hostile_flow.idp.response(
        request, "admin@acme.test", sp_metadata=flow.metadata(), attributes=BIG, issuer=flow.idp.issuer,
        assertion_issuer=flow.idp.issuer))
    assert len(failures) == 20
    assert all(len(json.dumps(e.details["sent"])) <= 2048 for e in failures)
    assert {e.reason for e in failures} == {"signature_invalid"}
    [counted] = db.session.scalars(select(AuditEvent).where(AuditEvent.account_id == flow.account.id,
                                                            AuditEvent.event_type == "sso.login_failures_counted"))
    assert counted.details["count"] == 5 and counted.outcome == "failure"
    # The real IdP still signs in, and its own failures keep their full summary.
    assert flow.login("admin@acme.test").status_code == 303
    assert flow.login("nobody@acme.test", attributes=BIG).status_code == 400
    real = sso_events(flow.account, "failure")[-1]
    assert real.reason == "user_not_found" and len(json.dumps(real.details["sent"])) > 2048


def _posing_as(idp_keys) -> KeyPair:
    """The attacker's private key, with acme's IdP certificate (public, in its metadata) put in ds:KeyInfo."""
    attacker, main = idp_keys["attacker"], idp_keys["main"]
    return KeyPair(key_path=attacker.key_path, cert_path=main.cert_path, cert_pem=main.cert_pem)


def test_keyinfo_naming_the_accounts_certificate_does_not_make_junk_signed(flow, idp_keys, monkeypatch):
    # Junk signed with any key, carrying acme's public IdP certificate in KeyInfo, refused before python3-saml
    # checks the signature (wrong audience): only a signature that verified counts as signed, so these are
    # bounded and, past 20 a minute, counted.
    failures = _flood(flow, monkeypatch, lambda request: flow.idp.response(
        request, "admin@acme.test", sp_metadata=flow.metadata(), attributes=BIG, audience="https://elsewhere.test",
        key=_posing_as(idp_keys)))
    assert len(failures) == 20
    assert all(len(json.dumps(e.details["sent"])) <= 2048 for e in failures)
    [counted] = db.session.scalars(select(AuditEvent).where(AuditEvent.account_id == flow.account.id,
                                                            AuditEvent.event_type == "sso.login_failures_counted"))
    assert counted.details["count"] == 5


def test_a_verified_signature_keeps_the_full_summary(flow):
    # The account's own IdP, refused before the signature check (wrong audience): its signature verifies, so
    # the admin sees everything it sent.
    request = flow.start()
    xml = flow.idp.response(request, "admin@acme.test", sp_metadata=flow.metadata(), attributes=BIG,
                            audience="https://elsewhere.test")
    assert flow.client.post(f"/login/saml/{flow.account.domain}/callback",
                            data=post_form(xml, request.relay_state)).status_code == 400
    [failure] = sso_events(flow.account, "failure")
    assert failure.reason != "signature_invalid" and len(json.dumps(failure.details["sent"])) > 2048
