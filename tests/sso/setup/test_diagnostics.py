"""Recent SSO logins on the SSO settings page: the fix for every reason, what the IdP sent, tenancy, permission."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from lxml import etree

from devtools.saml_idp import NAMEID_FORMAT_UNSPECIFIED, STATUS_RESPONDER
from portal import audit
from portal.extensions import db
from portal.sso.response_summary import MAX_SUMMARY_CHARS, summarize
from portal.sso.setup.fixes import fix_html
from tests.helpers import csrf_token, login
from tests.sso.helpers import sso_events

SETTINGS = "/settings/security/sso"
ENTITY_ID = "https://portal.test/login/saml/acme"
ACS_URL = "https://portal.test/login/saml/acme/callback"


def _now(**delta):
    return lambda: dt.datetime.now(dt.timezone.utc) + dt.timedelta(**delta)


# variant: (response options, email, reason code, pieces the fix must contain: what was received and what is expected)
CASES = {
    "audience": (dict(audience="https://portal.test/login/saml/acme-old"), "admin@acme.test", "audience_mismatch",
                 ["Okta sent Audience `https://portal.test/login/saml/acme-old`",
                  f"the SP Entity ID is `{ENTITY_ID}`", "Make them match exactly"]),
    "destination": (dict(destination="https://portal.test/login/saml/old/callback",
                         recipient="https://portal.test/login/saml/old/callback"), "admin@acme.test",
                    "destination_mismatch",
                    ["Destination `https://portal.test/login/saml/old/callback`",
                     "Recipient `https://portal.test/login/saml/old/callback`",
                     f"the SP Assertion Consumer Service URL is `{ACS_URL}`",
                     "Use this for Recipient and Destination URL"]),
    "issuer": (dict(issuer="http://www.okta.com/exkOTHER"), "admin@acme.test", "issuer_mismatch",
               ["Okta sent Issuer `http://www.okta.com/exkOTHER`",
                "the Identity Provider Issuer configured here is `http://www.okta.com/exkTESTIDP`"]),
    "other_key": (dict(key="attacker"), "admin@acme.test", "signature_invalid",
                  ["signing certificate `{attacker}`", "IdP Signature Certificates of this account are `{main}`"]),
    "expired": (dict(now=_now(hours=-1)), "admin@acme.test", "expired",
                ["valid until `", "received it at `", "clock skew of 60 seconds"]),
    "not_yet_valid": (dict(now=_now(hours=1)), "admin@acme.test", "not_yet_valid",
                      ["valid only from `", "received it at `", "clock skew of 60 seconds"]),
    "user_not_found": ({}, "nobody@acme.test", "user_not_found",
                       ["Okta sent NameID `nobody@acme.test`", "Auto-create users is off"]),
    "nameid_format": (dict(nameid_format=NAMEID_FORMAT_UNSPECIFIED), "admin@acme.test", "nameid_not_email",
                      [f"(format `{NAMEID_FORMAT_UNSPECIFIED}`), was refused: not in the emailAddress format",
                       "`urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress`", "EmailAddress"]),
    "status": (dict(status=STATUS_RESPONDER), "admin@acme.test", "idp_status_not_success",
               [f"status `{STATUS_RESPONDER}`", "assigned to the Okta application"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_settings_page_shows_the_fix_for_each_reason(flow, idp_keys, case):
    options, email, reason, pieces = CASES[case]
    options = {k: (v() if callable(v) else v) for k, v in options.items()}
    if "key" in options:
        options["key"] = idp_keys[options["key"]]
    request = flow.start()
    assert flow.post(flow.respond(request, email, **options)).status_code == 400
    event = sso_events(flow.account, "failure")[-1]
    assert event.reason == reason
    fingerprints = {name: _fingerprint(key.cert_pem) for name, key in idp_keys.items()}
    fix = event.details["fix"]
    for piece in pieces:
        assert piece.format(**fingerprints) in fix, (piece, fix)
    assert login(flow.client, "admin@acme.test").status_code == 302
    page = flow.client.get(SETTINGS).get_data(as_text=True)
    assert "Recent SSO logins" in page
    with flow.client.application.test_request_context():
        assert str(fix_html(fix)) in page  # the fix, its `code` as <code>
    assert event.details["reference"] in page and reason in page


def _fingerprint(pem: str) -> str:
    from portal.sso.setup.certs import parse_certificate

    return parse_certificate(pem).sha256_fingerprint


def test_done_when_mistyped_audience_is_shown_filtered_and_exported(flow, admin):
    """The issue's "done when": Okta's Audience URI is mistyped."""
    request = flow.start()
    response = flow.post(flow.respond(request, "admin@acme.test", audience="https://portal.test/login/saml/acme-old"))
    assert response.status_code == 400
    event = sso_events(flow.account, "failure")[-1]
    reference = event.details["reference"]
    assert login(flow.client, "admin@acme.test").status_code == 302
    page = flow.client.get(SETTINGS).get_data(as_text=True)
    assert ("Okta sent Audience <code>https://portal.test/login/saml/acme-old</code>; the SP Entity ID is "
            "<code>https://portal.test/login/saml/acme</code>. Make them match exactly") in page
    assert reference in page and "audience_mismatch" in page
    assert 'The last SSO login (admin@acme.test) failed' in page and f'href="#attempt-{event.id}"' in page
    assert f'datetime="{event.time.replace(microsecond=0).isoformat()}Z"' in page  # UTC, localtime.js shows it local
    # What the IdP sent, in the attempt's <details>.
    assert "<summary>What the IdP sent</summary>" in page and "https://portal.test/login/saml/acme-old" in page

    audit_page = flow.client.get("/admin/audit?type=sso.login&outcome=failure").get_data(as_text=True)
    assert reference in audit_page and "audience_mismatch" in audit_page
    export = flow.client.get("/admin/audit/export.csv?type=sso.login&outcome=failure")
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert [r["reason"] for r in rows] == ["audience_mismatch"]
    details = json.loads(rows[0]["details"])
    assert details["reference"] == reference
    assert details["sent"]["audiences"] == ["https://portal.test/login/saml/acme-old"]
    assert "Make them match exactly" in details["fix"]


def test_failures_first_then_newest(flow, admin):
    assert flow.login("admin@acme.test").status_code == 303  # success 1
    assert flow.client.post("/logout", data={"csrf_token": _token(flow.client)}).status_code == 302
    assert flow.login("nobody@acme.test").status_code == 400  # failure 1
    assert flow.login("admin@acme.test").status_code == 303  # success 2
    assert flow.client.post("/logout", data={"csrf_token": _token(flow.client)}).status_code == 302
    assert flow.login("ghost@acme.test").status_code == 400  # failure 2
    assert login(flow.client, "admin@acme.test").status_code == 302
    page = flow.client.get(SETTINGS).get_data(as_text=True)
    events = sso_events(flow.account)
    positions = [page.index(f'id="attempt-{e.id}"') for e in events]
    s1, f1, s2, f2 = positions
    assert f2 < f1 < s2 < s1


def test_success_keeps_a_small_summary_to_review(flow):
    assert flow.login("admin@acme.test", groups=["Eng", "Ops"]).status_code == 303
    event = sso_events(flow.account, "success")[-1]
    sent = event.details["sent"]
    assert sent["nameid"] == "admin@acme.test" and sent["audiences"] == [ENTITY_ID]
    assert sent["attributes"]["http://schemas.xmlsoap.org/claims/Group"] == ["Eng", "Ops"]
    assert sent["signatures"][0]["certificate_sha256"].count(":") == 31
    assert len(json.dumps(sent)) <= 3000
    page = flow.client.get(SETTINGS).get_data(as_text=True)
    assert f'id="attempt-{event.id}"' in page and "Ops" in page and "active certificate" in page


def test_other_accounts_attempts_are_never_shown(flow, other_account, admin):
    audit.record(other_account, "sso.login", actor=None, outcome="failure", reason="audience_mismatch",
                 subject="spy@globex.test", reference="SSO-GLOBEX22", fix="globex fix", sent={"nameid": "spy"})
    db.session.commit()
    assert flow.login("nobody@acme.test").status_code == 400
    assert login(flow.client, "admin@acme.test").status_code == 302
    page = flow.client.get(SETTINGS).get_data(as_text=True)
    assert "SSO-GLOBEX22" not in page and "spy@globex.test" not in page and "globex fix" not in page
    assert sso_events(flow.account, "failure")[-1].details["reference"] in page


def test_members_get_403(member_client):
    assert member_client.get(SETTINGS).status_code == 403


def test_no_attempts_yet(admin_client):
    page = admin_client.get(SETTINGS).get_data(as_text=True)
    assert "No SSO login has been tried yet" in page


def test_summary_stays_under_the_limit_without_signature_values(flow, idp):
    request = flow.start()
    many = {f"urn:attr:{i}:" + "n" * 120: ["v" * 190] * 40 for i in range(40)}
    xml = flow.respond(request, "admin@acme.test", attributes=many, groups=[f"group-{i}" * 10 for i in range(60)])
    summary = summarize(etree.fromstring(xml.encode()))
    text = json.dumps(summary)
    assert len(text) <= MAX_SUMMARY_CHARS
    assert summary["trimmed"] is True and summary["nameid"] == "admin@acme.test"
    assert "SignatureValue" not in text and "DigestValue" not in text and "<" not in text
    assert summary["signatures"][0]["certificate_sha256"]


@pytest.mark.parametrize("app_config", [{"SAML_MAX_RESPONSE_BYTES": 4 * 1024 * 1024}])
def test_big_response_failure_keeps_reference_and_fix(flow, app_config):
    many = {f"urn:attr:{i}": ["v" * 190] * 30 for i in range(30)}
    response = flow.login("nobody@acme.test", attributes=many)
    assert response.status_code == 400
    event = sso_events(flow.account, "failure")[-1]
    assert event.reason == "user_not_found"
    assert "truncated" not in event.details
    assert event.details["reference"] in response.get_data(as_text=True) and event.details["fix"]
    assert event.details["sent"]["trimmed"] is True


def _token(client) -> str:
    return csrf_token(client, "/")
