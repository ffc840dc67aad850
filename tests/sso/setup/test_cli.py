"""flask sso-config: show, set, import-metadata, sp-metadata, check."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from portal.extensions import db
from portal.models import Account
from portal.sso import saml
from portal.sso.setup import settings as service
from tests.sso.helpers import OKTA_ISSUER, OKTA_SSO_URL, crlf_amp13, okta_metadata, one_line, pysaml2_metadata


def sso(runner, *args):
    return runner.invoke(args=["sso-config", *args])


@pytest.fixture
def cert_file(tmp_path, valid_cert):
    path = tmp_path / "okta.cert"
    path.write_text(crlf_amp13(valid_cert.pem))
    return str(path)


def configured(runner, cert_file):
    result = sso(runner, "set", "acme", "--idp-login-url", OKTA_SSO_URL, "--idp-issuer", OKTA_ISSUER,
                 "--idp-cert", cert_file, "--enable")
    assert result.exit_code == 0, result.output
    return result


def test_show_json(runner, account):
    result = sso(runner, "show", "acme", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert {"domain", "enabled", "sp_entity_id", "acs_url", "sp_initiation_url", "idp_login_url", "idp_issuer",
            "auto_create_users", "auto_create_groups", "group_filter", "certificates"} <= set(data)
    assert data["domain"] == "acme" and data["enabled"] is False and data["certificates"] == []
    assert data["acs_url"] == "https://portal.test/login/saml/acme/callback"
    assert data["sp_entity_id"] == data["sp_initiation_url"] == "https://portal.test/login/saml/acme"


def test_set_then_show(runner, account, cert_file, valid_cert):
    result = configured(runner, cert_file)
    assert f"Added certificate {valid_cert.sha256}" in result.output and "SSO enabled: False → True" in result.output
    data = json.loads(sso(runner, "show", "acme", "--json").output)
    assert data["enabled"] is True and data["idp_issuer"] == OKTA_ISSUER
    (cert,) = data["certificates"]
    assert {"subject", "sha256_fingerprint", "sha1_fingerprint", "not_before", "not_after"} <= set(cert)
    assert cert["sha256_fingerprint"] == valid_cert.sha256 and cert["sha1_fingerprint"] == valid_cert.sha1
    human = sso(runner, "show", "acme").output
    assert OKTA_ISSUER in human and valid_cert.sha256 in human


def test_set_options(runner, account):
    result = sso(runner, "set", "acme", "--auto-create-users", "--auto-create-groups", "--group-filter", "^eng-",
                 "--split-group-values")
    assert result.exit_code == 0, result.output
    config = service.get_config(account)
    assert config.auto_create_users and config.auto_create_groups and config.group_filter == "^eng-"
    assert config.split_group_values
    assert sso(runner, "set", "acme", "--no-auto-create-users", "--group-filter", "").exit_code == 0
    db.session.expire_all()
    assert not config.auto_create_users and config.group_filter is None and config.auto_create_groups


@pytest.mark.parametrize("args, message", [
    (["--enable"], "Missing: IdP Login URL, Identity Provider Issuer, IdP Signature Certificate"),
    (["--idp-login-url", "http://acme.okta.com/sso"], "https://"),
    (["--group-filter", "a)"], "not valid RE2 syntax: unexpected )"),
    (["--group-filter", "(?<=a)b"], "not valid RE2 syntax"),
    (["--remove-idp-cert", "AB:CD"], "No active certificate"),
])
def test_set_refusals(runner, account, args, message):
    result = sso(runner, "set", "acme", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert service.get_config(account).version == 1


def test_set_refuses_private_key_and_expired(runner, account, tmp_path, private_key_pem, expired_cert):
    key = tmp_path / "key.pem"
    key.write_text(private_key_pem)
    result = sso(runner, "set", "acme", "--idp-cert", str(key))
    assert result.exit_code == 1 and "private key" in result.output
    old = tmp_path / "old.cer"
    old.write_bytes(expired_cert.der)
    result = sso(runner, "set", "acme", "--add-idp-cert", str(old))
    assert result.exit_code == 1 and "expired on" in result.output
    assert sso(runner, "set", "acme", "--idp-cert", str(tmp_path / "missing.pem")).exit_code == 1


def test_rotation(runner, account, cert_file, tmp_path, valid_cert, second_cert):
    configured(runner, cert_file)
    new = tmp_path / "new.cer"
    new.write_bytes(second_cert.der)
    assert sso(runner, "set", "acme", "--add-idp-cert", str(new)).exit_code == 0
    assert len(service.active_certificates(account)) == 2
    result = sso(runner, "set", "acme", "--remove-idp-cert", valid_cert.sha256.replace(":", "").lower())
    assert result.exit_code == 0, result.output
    assert [c.sha256_fingerprint for c in service.active_certificates(account)] == [second_cert.sha256]
    new.write_text(one_line(valid_cert.pem))
    assert sso(runner, "set", "acme", "--idp-cert", str(new)).exit_code == 0  # replaces
    assert [c.sha256_fingerprint for c in service.active_certificates(account)] == [valid_cert.sha256]


def test_import_metadata(runner, account, tmp_path, valid_cert, second_cert):
    okta = tmp_path / "okta.xml"
    okta.write_text(okta_metadata(valid_cert))
    result = sso(runner, "import-metadata", "acme", str(okta))
    assert result.exit_code == 0, result.output
    assert service.get_config(account).idp_login_url == OKTA_SSO_URL
    other = tmp_path / "pysaml2.xml"
    other.write_text(pysaml2_metadata(tmp_path, second_cert))
    assert sso(runner, "import-metadata", "acme", str(other)).exit_code == 0
    db.session.expire_all()
    assert service.get_config(account).idp_issuer == "https://idp.example.com/saml"
    bad = tmp_path / "bad.xml"
    bad.write_text("<not-metadata/>")
    result = sso(runner, "import-metadata", "acme", str(bad))
    assert result.exit_code == 1 and "not SAML 2.0 metadata" in result.output


def test_sp_metadata(runner, account):
    result = sso(runner, "sp-metadata", "acme")
    assert result.exit_code == 0
    assert saml.validate_sp_metadata(result.output) == []
    assert "https://portal.test/login/saml/acme/callback" in result.output
    assert sso(runner, "sp-metadata", "nosuch").exit_code == 1


def test_check_ok(runner, account, cert_file):
    result = sso(runner, "check", "acme")
    assert result.exit_code == 0 and result.output.startswith("OK") and result.output.count("\n") == 1
    configured(runner, cert_file)
    result = sso(runner, "check", "acme")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: acme: SSO enabled") and result.output.count("\n") == 1


def test_check_expiring_certificate(runner, account, cert_file, tmp_path, expiring_cert):
    configured(runner, cert_file)
    path = tmp_path / "expiring.pem"
    path.write_text(expiring_cert.pem)
    assert sso(runner, "set", "acme", "--add-idp-cert", str(path)).exit_code == 0
    result = sso(runner, "check", "acme")
    assert result.exit_code == 1 and "expires on" in result.output and expiring_cert.sha256 in result.output


def test_check_enabled_but_incomplete(runner, account):
    service.get_config(account).enabled = True  # e.g. set before a certificate row was deleted by hand
    db.session.commit()
    result = sso(runner, "check", "acme")
    assert result.exit_code == 1 and "enabled but incomplete" in result.output


def test_check_invalid_domain(runner, account):
    db.session.execute(update(Account).where(Account.id == account.id).values(domain="admin"))
    db.session.commit()
    result = sso(runner, "check", "admin")
    assert result.exit_code == 1 and "reserved" in result.output


def test_check_unknown_domain(runner, app):
    result = sso(runner, "check", "nosuch")
    assert result.exit_code == 1 and "No account" in result.output
