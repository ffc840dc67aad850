"""Every refusal the test IdP can produce: its reason code, its audit event, and nothing created."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from devtools.saml_idp import NAMEID_FORMAT_UNSPECIFIED, STATUS_RESPONDER
from portal.extensions import db
from portal.models import SeenAssertion, User
from tests.sso.helpers import assert_refused, sso_events

NEW_EMAIL = "new.person@acme.test"
NOW = dt.datetime.now(dt.timezone.utc)

VARIANTS = {
    "issuer_mismatch": dict(issuer="http://www.okta.com/exkSOMEONEELSE"),
    "assertion_issuer_mismatch": dict(assertion_issuer="http://www.okta.com/exkSOMEONEELSE"),
    "audience_mismatch": dict(audience="https://portal.test/login/saml/globex"),
    "no_audience_restriction": dict(audience=None),
    "destination_mismatch": dict(destination="https://portal.test/login/saml/globex/callback"),
    "destination_with_query": dict(destination="https://portal.test/login/saml/acme/callback?x=y"),
    "no_destination": dict(destination=None),
    "recipient_mismatch": dict(recipient="https://elsewhere.test/login/saml/acme/callback"),
    "recipient_with_query": dict(recipient="https://portal.test/login/saml/acme/callback?x=y"),
    "no_recipient": dict(recipient=None),
    "expired": dict(now=lambda: dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)),
    "subject_confirmation_expired": dict(subject_not_on_or_after=lambda: dt.datetime.now(dt.timezone.utc)
                                         - dt.timedelta(seconds=5)),
    # Only the Conditions have expired (beyond the clock skew); the SubjectConfirmationData is still valid.
    "conditions_expired": dict(not_on_or_after=lambda: dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)),
    "not_yet_valid": dict(now=lambda: dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)),
    "unsigned": dict(sign_response=False, sign_assertion=False),
    "other_key": dict(key="attacker"),
    "status_not_success": dict(status=STATUS_RESPONDER),
    "nameid_unspecified": dict(nameid_format=NAMEID_FORMAT_UNSPECIFIED),
    "nameid_no_format": dict(nameid_format=None),
    "in_response_to_unknown": dict(in_response_to="ONELOGIN_not_a_request_we_sent"),
    "subject_in_response_to_differs": dict(subject_in_response_to="ONELOGIN_another_request"),
    "no_not_on_or_after": dict(not_on_or_after=None, subject_not_on_or_after=None),
    "sha1_signature": dict(sign_alg="http://www.w3.org/2000/09/xmldsig#rsa-sha1",
                           digest_alg="http://www.w3.org/2000/09/xmldsig#sha1"),
}
EXPECTED = {
    "issuer_mismatch": "issuer_mismatch",
    "assertion_issuer_mismatch": "issuer_mismatch",
    "audience_mismatch": "audience_mismatch",
    "no_audience_restriction": "audience_mismatch",
    "destination_mismatch": "destination_mismatch",
    "destination_with_query": "destination_mismatch",
    "no_destination": "destination_mismatch",
    "recipient_mismatch": "destination_mismatch",
    "recipient_with_query": "destination_mismatch",
    "no_recipient": "destination_mismatch",
    "expired": "expired",
    "subject_confirmation_expired": "expired",
    "conditions_expired": "expired",
    "not_yet_valid": "not_yet_valid",
    "unsigned": "signature_invalid",
    "other_key": "signature_invalid",
    "status_not_success": "idp_status_not_success",
    "nameid_unspecified": "nameid_not_email",
    "nameid_no_format": "nameid_not_email",
    "in_response_to_unknown": "request_unknown_or_used",
    "subject_in_response_to_differs": "request_unknown_or_used",
    "no_not_on_or_after": "malformed_response",
    "sha1_signature": "signature_invalid",
}


@pytest.fixture
def auto_create(sso_account):
    sso_account.sso_config.auto_create_users = True
    db.session.commit()
    return sso_account


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_refused_with_reason_and_nothing_created(flow, auto_create, idp_keys, variant):
    options = {k: (v() if callable(v) else v) for k, v in VARIANTS[variant].items()}
    if "key" in options:
        options["key"] = idp_keys[options["key"]]
    users_before = db.session.scalar(select(func.count()).select_from(User))
    request = flow.start()
    response = flow.post(flow.respond(request, NEW_EMAIL, **options))
    event = assert_refused(flow, response, EXPECTED[variant])
    assert User.by_email(NEW_EMAIL) is None
    assert db.session.scalar(select(func.count()).select_from(User)) == users_before
    assert db.session.scalar(select(func.count()).select_from(SeenAssertion)) == 0
    assert event.outcome == "failure" and event.event_type == "sso.login"


def test_audience_fix_names_the_sp_entity_id(flow):
    request = flow.start()
    event = assert_refused(flow, flow.post(flow.respond(request, audience="https://elsewhere.test")),
                           "audience_mismatch")
    assert "Okta sent Audience `https://elsewhere.test`; the SP Entity ID is `https://portal.test/login/saml/acme`. " \
           "Make them match exactly" in event.details["fix"]
    assert event.details["sent"]["audiences"] == ["https://elsewhere.test"]


def test_failure_details_are_a_redacted_summary(flow):
    request = flow.start()
    response = flow.post(flow.respond(request, "someone@acme.test", issuer="http://www.okta.com/exkOTHER",
                                      groups=["Eng"]))
    event = assert_refused(flow, response, "issuer_mismatch")
    sent = event.details["sent"]
    assert event.subject == "someone@acme.test"
    assert sent["issuer"] == "http://www.okta.com/exkOTHER"
    assert sent["nameid"] == "someone@acme.test"
    assert sent["attributes"]["http://schemas.xmlsoap.org/claims/Group"] == ["Eng"]
    assert sent["signatures"][0]["certificate_sha256"].count(":") == 31
    text = str(event.details)
    assert "SignatureValue" not in text and "DigestValue" not in text
    assert "http://www.okta.com/exkTESTIDP" in event.details["fix"]  # the configured issuer


@pytest.mark.parametrize("email, reason", [
    ("nobody@acme.test", "user_not_found"),
    ("admin@globex.test", "user_in_other_account"),
    ("member@acme.test", "user_inactive"),
    ("not-an-email", "nameid_not_email"),
])
def test_user_refusals(flow, other_account, member, email, reason):
    member.active = False
    db.session.commit()
    response = flow.login(email)
    event = assert_refused(flow, response, reason)
    assert event.subject == email  # what the IdP sent, even when it is not an email
    assert User.by_email("admin@globex.test").account_id == other_account.id


def test_other_account_email_never_duplicated_even_with_auto_create(flow, auto_create, other_account):
    response = flow.login("ADMIN@globex.test")
    assert_refused(flow, response, "user_in_other_account")
    assert db.session.scalar(select(func.count()).select_from(User).where(
        func.lower(User.email) == "admin@globex.test")) == 1


@pytest.mark.parametrize("app_config", [{"SAML_CLOCK_SKEW": 0}])
def test_clock_skew_zero_refuses_slightly_early(flow, app_config):
    now = dt.datetime.now(dt.timezone.utc)
    request = flow.start()
    response = flow.post(flow.respond(request, not_before=now + dt.timedelta(seconds=30)))
    assert_refused(flow, response, "not_yet_valid")


def test_default_clock_skew_tolerates_slightly_early_and_late(flow, admin):
    now = dt.datetime.now(dt.timezone.utc)
    request = flow.start()
    response = flow.post(flow.respond(request, not_before=now + dt.timedelta(seconds=30),
                                      not_on_or_after=now - dt.timedelta(seconds=20)))
    assert response.status_code == 303, sso_events(flow.account)[-1].details
