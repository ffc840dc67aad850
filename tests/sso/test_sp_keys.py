"""Signed AuthnRequests and encrypted assertions with the account's own SP key pair (generated, encrypted at rest,
rotated), against the independent pysaml2 test IdP."""
from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree
from saml2.response import IncorrectlySigned

from devtools.saml_idp import TestIdp
from portal.extensions import db
from portal.models import SP_KEY_CURRENT, SP_KEY_NEXT, SpKey, SsoConfig
from portal.sso import saml, sp_keys
from tests.sso.helpers import assert_refused, sso_events
from tests.sso.sp_key_helpers import body, current_cert, metadata_certs, turn_on

@pytest.fixture
def encrypting(flow):
    turn_on(flow.account, want_encrypted_assertions=True)
    return flow


def test_encrypted_okta_response_logs_in(encrypting, admin):
    flow = encrypting
    request = flow.start("/admin/users")
    xml = flow.respond(request, "admin@acme.test", encrypt_for=current_cert(flow.account))
    assert "EncryptedAssertion" in xml and "admin@acme.test" not in xml  # nothing readable on the wire
    response = flow.post(xml, relay_state=request.relay_state)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    assert response.headers["Location"] == "/admin/users"
    with flow.client.session_transaction() as session:
        assert session["_user_id"] == str(admin.id)
    success = sso_events(flow.account, "success")[-1]
    assert success.subject == "admin@acme.test"
    assert success.details["sent"]["nameid"] == "admin@acme.test"  # the summary reads the decrypted assertion


def test_unencrypted_assertion_refused_when_encryption_wanted(encrypting):
    event = assert_refused(encrypting, encrypting.login("admin@acme.test"), "assertion_not_encrypted")
    assert "Encryption Certificate" in event.details["fix"]


def test_unencrypted_assertion_still_accepted_with_encryption_off(flow, admin):
    turn_on(flow.account, sign_requests=True)  # a key pair exists, encryption is not wanted
    assert flow.login("admin@acme.test").status_code == 303


def test_assertion_encrypted_for_another_certificate_refused(encrypting, idp_keys):
    request = encrypting.start()
    xml = encrypting.respond(request, encrypt_for=idp_keys["attacker"].cert_pem)
    event = assert_refused(encrypting, encrypting.post(xml), "assertion_decryption_failed")
    assert "SP certificate" in event.details["fix"]


def test_encrypted_assertion_is_still_signature_checked(encrypting, idp_keys):
    request = encrypting.start()
    xml = encrypting.respond(request, encrypt_for=current_cert(encrypting.account), key=idp_keys["attacker"])
    assert_refused(encrypting, encrypting.post(xml), "signature_invalid")


def test_encrypted_response_decrypted_before_encryption_is_required(flow, admin):
    # The zero-downtime order: key pair first, the IdP starts encrypting, then "Want encrypted assertions".
    turn_on(flow.account, sign_requests=True)
    request = flow.start()
    response = flow.post(flow.respond(request, encrypt_for=current_cert(flow.account)))
    assert response.status_code == 303, response.get_data(as_text=True)[:800]


def test_private_key_is_not_stored_in_clear(encrypting, app):
    row = sp_keys.keys(encrypting.account)[SP_KEY_CURRENT]
    token = row.private_key_encrypted
    # A Fernet token under the key derived from the configured secret, opening to the PEM: nothing here holds by
    # chance (a random token may well contain "MII", the start of the PEM's base64).
    key_pem = Fernet(sp_keys._fernet_key(app.config["SECRET_KEY"])).decrypt(token.encode()).decode()
    assert key_pem.startswith("-----BEGIN PRIVATE KEY-----\n")
    assert " " not in token and "PRIVATE KEY" not in token  # URL-safe base64 never has a space
    lines = [line for line in key_pem.splitlines() if len(line) == 64]  # a by-chance match: 1 in 64**64
    assert len(lines) > 30 and not any(line in token for line in lines)
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    cert = x509.load_pem_x509_certificate(row.cert_pem.encode())
    assert key.key_size == 3072
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert sp_keys.decrypt_private_key(token) == key_pem
    app.config["SECRET_KEY"] = "another secret"  # a lost or changed key opens nothing
    assert sp_keys.decrypt_private_key(token) is None


def test_key_encryption_key_is_used_when_set(app, account):
    app.config["KEY_ENCRYPTION_KEY"] = "k" * 40
    token = sp_keys.encrypt_private_key("-----BEGIN PRIVATE KEY-----x")
    app.config["KEY_ENCRYPTION_KEY"] = None  # PORTAL_SECRET_KEY alone cannot open it
    assert sp_keys.decrypt_private_key(token) is None
    # Keys stored under PORTAL_SECRET_KEY stay readable once a key-encryption key is introduced.
    old = sp_keys.encrypt_private_key("old")
    app.config["KEY_ENCRYPTION_KEY"] = "k" * 40
    assert sp_keys.decrypt_private_key(old) == "old"
    assert sp_keys.decrypt_private_key(token) == "-----BEGIN PRIVATE KEY-----x"


def test_unreadable_key_refuses_instead_of_falling_back(encrypting, app):
    db.session.execute(SpKey.__table__.update().values(private_key_encrypted="gAAAAA-not-a-token"))
    db.session.commit()
    saml.clear_caches()
    response = encrypting.client.get("/login/saml/acme")
    assert response.status_code == 409
    assert sso_events(encrypting.account, "failure")[-1].reason == "sp_key_unavailable"


def test_signed_authn_request_verifies_against_sp_certificate(flow, idp_keys):
    turn_on(flow.account, sign_requests=True)
    strict = TestIdp(idp_keys["main"], want_signed_requests=True)
    location = flow.client.get("/login/saml/acme?next=/admin/teams").headers["Location"]
    metadata = flow.metadata()
    assert strict.receive(metadata, location).relay_state == "/admin/teams"  # pysaml2 verified it
    # And independently: RSA-SHA256 over the query as sent, with the SP certificate's public key.
    query = urlsplit(location).query
    parts = dict(part.split("=", 1) for part in query.split("&"))  # the values as sent (SAML binding 3.4.4.1)
    signed = "&".join(f"{name}={parts[name]}" for name in ("SAMLRequest", "RelayState", "SigAlg")).encode()
    signature = base64.b64decode(parse_qs(query)["Signature"][0])
    public_key = x509.load_pem_x509_certificate(current_cert(flow.account).encode()).public_key()
    public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    assert 'AuthnRequestsSigned="true"' in metadata


def test_unsigned_or_tampered_authn_request_fails_the_strict_idp(flow, idp_keys):
    strict = TestIdp(idp_keys["main"], want_signed_requests=True)
    location = flow.client.get("/login/saml/acme").headers["Location"]
    with pytest.raises(IncorrectlySigned):  # signing off: the check above is not vacuous
        strict.receive(flow.metadata(), location)
    turn_on(flow.account, sign_requests=True)
    location = flow.client.get("/login/saml/acme").headers["Location"]
    with pytest.raises(IncorrectlySigned):
        strict.receive(flow.metadata(), location.replace("RelayState=%2F", "RelayState=%2Fadmin"))


def test_rotation_publishes_both_certificates_until_finished(encrypting, admin, app):
    flow = encrypting
    old = current_cert(flow.account)
    sp_keys.rotate(flow.account)
    db.session.commit()
    new = current_cert(flow.account, SP_KEY_NEXT)
    published = metadata_certs(flow.metadata())
    assert published["signing"] == published["encryption"] == {body(old), body(new)}
    for cert in (old, new):  # the IdP may encrypt for either while it catches up
        request = flow.start()
        assert flow.post(flow.respond(request, encrypt_for=cert)).status_code == 303
    sp_keys.finish_rotation(flow.account)
    db.session.commit()
    assert metadata_certs(flow.metadata())["encryption"] == {body(new)}
    assert set(sp_keys.keys(flow.account)) == {SP_KEY_CURRENT}
    flow.client = app.test_client()  # a browser nobody signed in on
    request = flow.start()
    assert_refused(flow, flow.post(flow.respond(request, encrypt_for=old)), "assertion_decryption_failed")
    request = flow.start()
    assert flow.post(flow.respond(request, encrypt_for=new)).status_code == 303


def test_rotation_rules_and_audit(encrypting):
    account = encrypting.account
    with pytest.raises(sp_keys.SpKeyError):
        sp_keys.finish_rotation(account)
    sp_keys.rotate(account)
    with pytest.raises(sp_keys.SpKeyError):
        sp_keys.rotate(account)
    version = db.session.get(SsoConfig, account.id).version
    sp_keys.finish_rotation(account)
    assert db.session.get(SsoConfig, account.id).version == version + 1
    db.session.commit()
    from portal.models import AuditEvent
    types = [e.event_type for e in db.session.query(AuditEvent).order_by(AuditEvent.id)]
    assert types[-2:] == ["sso.sp_key_rotation_started", "sso.sp_key_rotation_finished"]
    assert "sso.sp_key_created" in types


def test_key_pair_is_generated_once_and_off_by_default(flow):
    assert sp_keys.keys(flow.account) == {}
    assert "KeyDescriptor" not in flow.metadata()
    turn_on(flow.account, sign_requests=True)
    first = current_cert(flow.account)
    turn_on(flow.account, want_encrypted_assertions=True)
    assert current_cert(flow.account) == first
    assert db.session.query(SpKey).count() == 1


def test_unreadable_key_refuses_at_the_acs_too(encrypting, app):
    flow = encrypting
    request = flow.start()
    encrypted = flow.respond(request, encrypt_for=current_cert(flow.account))
    app.config["SECRET_KEY"] = "changed"  # as if PORTAL_SECRET_KEY had been replaced
    for xml in (encrypted, flow.respond(request)):
        event = assert_refused(flow, flow.post(xml), "sp_key_unavailable")
        assert "PORTAL_KEY_ENCRYPTION_KEY" in event.details["fix"]


def test_decryption_speedup_gives_stock_answers_and_reuses_one_manager_per_thread(encrypting, idp_keys):
    from portal.sso import saml_speedups
    from devtools.saml_idp import post_form
    flow = encrypting
    request = flow.start()
    cert = current_cert(flow.account)
    good = flow.respond(request, encrypt_for=cert)
    tampered = etree.fromstring(good.encode())
    xenc = "{http://www.w3.org/2001/04/xmlenc#}"
    cipher = tampered.find(f".//{xenc}EncryptedData/{xenc}CipherData/{xenc}CipherValue")
    cipher.text = base64.b64encode(b"\0" * 64).decode()
    cases = {"good": good, "other_certificate": flow.respond(request, encrypt_for=idp_keys["attacker"].cert_pem),
             "tampered": etree.tostring(tampered).decode(), "plain": flow.respond(request)}

    def outcomes():
        found = {}
        for name, xml in cases.items():
            data = {"post_data": post_form(xml)}
            try:
                response = saml.parse_response(flow.account, data)
                found[name] = saml.validate(flow.account, response, data, request.request_id, 60).nameid
            except saml.Rejected as exc:
                found[name] = exc.reason.value
        return found

    try:
        saml_speedups.uninstall()
        saml.clear_caches()
        stock = outcomes()
        assert not saml_speedups._private_entries()  # really python3-saml's own path
    finally:
        assert saml_speedups.install()
    saml.clear_caches()
    assert stock == {"good": "admin@acme.test", "other_certificate": "assertion_decryption_failed",
                     "tampered": "assertion_decryption_failed", "plain": "assertion_not_encrypted"}
    assert outcomes() == stock
    entries = list(saml_speedups._private_entries().values())
    assert len(entries) == 1 and entries[0].manager is not None
    manager = entries[0].manager
    assert outcomes() == stock
    assert saml_speedups._private_entries()[next(iter(saml_speedups._private_entries()))].manager is manager
