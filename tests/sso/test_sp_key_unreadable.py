"""PORTAL_KEY_ENCRYPTION_KEY changed after the account's SP key was stored: every door that needs the private key
refuses clearly (the setting named, the fix given), none falls back to unsigned requests, unencrypted assertions or a
key nobody chose, and nothing answers 5xx. The metadata needs no private key and keeps publishing what the account
requires; rotate-sp-key is the way out when the old key is lost."""
from __future__ import annotations

import re

import pytest
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from devtools.saml_idp import TestIdp
from portal.extensions import db
from portal.models import SP_KEY_CURRENT, SP_KEY_NEXT, AuditEvent
from portal.sso import saml, sp_keys
from tests.sso.helpers import assert_refused
from tests.sso.sp_key_helpers import body, current_cert, metadata_certs, turn_on

OLD, NEW = "old key-encryption key " + "o" * 20, "new key-encryption key " + "n" * 20


@pytest.fixture
def app_config():
    return {"KEY_ENCRYPTION_KEY": OLD}


@pytest.fixture
def keyed(flow, admin):
    """acme signs its AuthnRequests and wants encrypted assertions; its SP key is stored under OLD."""
    turn_on(flow.account, sign_requests=True, want_encrypted_assertions=True)
    return flow


def change_key(app, value: str = NEW) -> None:
    """PORTAL_KEY_ENCRYPTION_KEY replaced, as a restarted process sees it (no per-process cache left)."""
    app.config["KEY_ENCRYPTION_KEY"] = value
    saml.clear_caches()


def cli(runner, *args):
    return runner.invoke(args=["sso-config", *args])


def test_sp_initiated_login_refused_naming_the_setting(keyed, app):
    change_key(app)
    response = keyed.client.get("/login/saml/acme")
    assert "Location" not in response.headers  # no AuthnRequest leaves, signed or not
    event = assert_refused(keyed, response, "sp_key_unavailable", status=409)
    assert "PORTAL_KEY_ENCRYPTION_KEY" in event.details["problem"]
    assert "Restore that key" in event.details["fix"] and "rotate-sp-key" in event.details["fix"]


def test_encrypted_assertion_refused_at_the_acs(keyed, app):
    request = keyed.start()
    encrypted = keyed.respond(request, encrypt_for=current_cert(keyed.account))
    change_key(app)
    event = assert_refused(keyed, keyed.post(encrypted), "sp_key_unavailable")
    assert "PORTAL_KEY_ENCRYPTION_KEY" in event.details["problem"] + event.details["fix"]


def test_metadata_keeps_the_certificate_and_signed_requests(keyed, app, runner):
    """Without its private key the metadata used to drop the SP certificate and say AuthnRequestsSigned="false": an
    IdP reading it would stop encrypting, and accept unsigned requests."""
    cert = body(current_cert(keyed.account))
    change_key(app)
    for xml in (keyed.client.get("/login/saml/acme/metadata").get_data(as_text=True),
                cli(runner, "sp-metadata", "acme").output):
        assert metadata_certs(xml) == {"signing": {cert}, "encryption": {cert}}
        assert 'AuthnRequestsSigned="true"' in xml
        assert saml.validate_sp_metadata(xml) == []


def test_check_names_the_setting(keyed, app, runner):
    change_key(app)
    result = cli(runner, "check", "acme")
    assert result.exit_code == 1
    assert "PORTAL_KEY_ENCRYPTION_KEY" in result.output and "rotate-sp-key" in result.output


def test_rotate_sp_key_is_the_way_out_when_the_old_key_is_lost(keyed, app, runner, idp_keys):
    old = current_cert(keyed.account)
    change_key(app)
    result = cli(runner, "rotate-sp-key", "acme")
    assert result.exit_code == 0, result.output
    new = current_cert(keyed.account, SP_KEY_NEXT)
    assert metadata_certs(keyed.metadata())["encryption"] == {body(old), body(new)}  # as the command says
    assert_refused(keyed, keyed.client.get("/login/saml/acme"), "sp_key_unavailable", status=409)  # until --finish
    assert cli(runner, "rotate-sp-key", "acme", "--finish").exit_code == 0
    strict = TestIdp(idp_keys["main"], want_signed_requests=True)
    request = strict.receive(keyed.metadata(), keyed.client.get("/login/saml/acme").headers["Location"])
    xml = strict.response(request, "admin@acme.test", sp_metadata=keyed.metadata(), encrypt_for=new)
    assert keyed.post(xml).status_code == 303


def test_finish_refuses_a_next_key_that_no_longer_decrypts(keyed, app, runner):
    assert cli(runner, "rotate-sp-key", "acme").exit_code == 0  # started under OLD
    first_next = sp_keys.keys(keyed.account)[SP_KEY_NEXT].sha256_fingerprint
    change_key(app)
    result = cli(runner, "rotate-sp-key", "acme", "--finish")
    assert result.exit_code == 1
    assert f"The next SP certificate {first_next}" in result.output
    assert "PORTAL_KEY_ENCRYPTION_KEY" in result.output and "rotate-sp-key again" in result.output
    db.session.expire_all()
    assert sp_keys.keys(keyed.account)[SP_KEY_NEXT].sha256_fingerprint == first_next  # nothing changed
    # rotate-sp-key replaces the dead next key (it used to answer "a rotation is already under way")
    result = cli(runner, "rotate-sp-key", "acme")
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    replacement = sp_keys.keys(keyed.account)[SP_KEY_NEXT]
    assert replacement.sha256_fingerprint != first_next
    assert sp_keys.decrypt_private_key(replacement.private_key_encrypted) is not None
    started = db.session.query(AuditEvent).filter_by(event_type="sso.sp_key_rotation_started").all()
    assert started[-1].details["replaced_unreadable"] == first_next
    assert cli(runner, "rotate-sp-key", "acme", "--finish").exit_code == 0
    db.session.expire_all()
    assert set(sp_keys.keys(keyed.account)) == {SP_KEY_CURRENT}
    assert keyed.client.get("/login/saml/acme").status_code == 302


def test_a_readable_next_key_still_means_a_rotation_under_way(keyed, runner):
    assert cli(runner, "rotate-sp-key", "acme").exit_code == 0
    result = cli(runner, "rotate-sp-key", "acme")
    assert result.exit_code == 1 and "already under way" in result.output


@pytest.mark.parametrize("options", [{}, {"sign_requests": True}, {"want_encrypted_assertions": True},
                                     {"sign_requests": True, "want_encrypted_assertions": True}])
@pytest.mark.parametrize("rotating", [False, True])
def test_metadata_is_python3_saml_own_when_the_key_is_readable(flow, options, rotating):
    """sp_metadata builds from the stored certificates; with readable keys it is what python3-saml itself builds."""
    turn_on(flow.account, **options)
    if rotating and options:
        sp_keys.rotate(flow.account)
        db.session.commit()
    stock = OneLogin_Saml2_Settings(saml.settings_dict(flow.account), sp_validation_only=True).get_sp_metadata()
    stock = stock.decode() if isinstance(stock, bytes) else stock

    def steady(xml):
        return re.sub(r'validUntil="[^"]+"', "", xml)
    assert steady(saml.sp_metadata(flow.account)) == steady(stock)
