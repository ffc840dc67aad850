"""SSO settings services without the client: validation, certificates, metadata import, enable, health, domains."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.accounts import domains
from portal.errors import FieldErrors, ServiceError
from portal.extensions import db
from portal.models import AuditEvent, IdpCertificate, utcnow
from portal.sso.setup import settings as service
from portal.sso.setup.settings import SettingsChange, SettingsError
from tests.sso.helpers import OKTA_ISSUER, OKTA_SSO_URL, make_cert, okta_metadata, one_line, pysaml2_metadata


def events(account, event_type):
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.account_id == account.id,
                                                            AuditEvent.event_type == event_type)))


def configure(account, cert, enabled=True):
    service.apply(account, SettingsChange(idp_login_url=OKTA_SSO_URL, idp_issuer=OKTA_ISSUER,
                                          add_certificates=[cert.pem], enabled=enabled))
    db.session.commit()


def test_full_configuration_enables(account, valid_cert):
    outcome = service.apply(account, SettingsChange(
        idp_login_url=f" {OKTA_SSO_URL} ", idp_issuer=OKTA_ISSUER, add_certificates=[one_line(valid_cert.pem)],
        auto_create_users=True, enabled=True))
    db.session.commit()
    config = service.get_config(account)
    assert config.enabled and config.idp_login_url == OKTA_SSO_URL and config.auto_create_users
    assert [c.sha256_fingerprint for c in service.active_certificates(account)] == [valid_cert.sha256]
    assert outcome.changes["enabled"] == (False, True)
    assert config.version == 2
    (event,) = events(account, "sso.settings_updated")
    assert event.details["changes"]["idp_login_url"] == {"old": None, "new": OKTA_SSO_URL}
    (added,) = events(account, "sso.certificate_added")
    assert added.details["sha256_fingerprint"] == valid_cert.sha256
    assert "BEGIN" not in str(added.details)  # fingerprints, not the certificate


@pytest.mark.parametrize("change, missing", [
    (SettingsChange(enabled=True), ["IdP Login URL", "Identity Provider Issuer", "IdP Signature Certificate"]),
    (SettingsChange(enabled=True, idp_login_url=OKTA_SSO_URL, idp_issuer=OKTA_ISSUER), ["IdP Signature Certificate"]),
])
def test_enabling_with_missing_fields_is_refused(account, change, missing):
    with pytest.raises(SettingsError) as info:
        service.apply(account, change)
    db.session.rollback()
    assert "cannot be enabled" in info.value.errors["enabled"]
    for label in missing:
        assert label in info.value.errors["enabled"]
    assert service.missing_for_enable(account) == ["IdP Login URL", "Identity Provider Issuer",
                                                   "IdP Signature Certificate"]
    assert not service.get_config(account).enabled


def test_enabled_sso_cannot_be_left_incomplete(account, valid_cert):
    configure(account, valid_cert)
    with pytest.raises(SettingsError, match="disable SSO first"):
        service.apply(account, SettingsChange(remove_fingerprints=[valid_cert.sha256]))
    db.session.rollback()
    with pytest.raises(SettingsError, match="IdP Login URL"):
        service.apply(account, SettingsChange(idp_login_url=""))
    db.session.rollback()
    assert len(service.active_certificates(account)) == 1


@pytest.mark.parametrize("url, ok", [
    ("https://acme.okta.com/app/x/sso/saml", True),
    ("http://127.0.0.1:8080/sso", True),
    ("http://localhost/sso", True),
    ("http://[::1]:9000/sso", True),
    ("http://acme.okta.com/sso", False),
    ("ftp://acme.okta.com/sso", False),
    ("acme.okta.com/sso", False),
    ("https://acme.okta.com/sso#frag", False),
    ("https://acme.okta.com:99999/", False),
])
def test_login_url_rules(account, url, ok):
    if ok:
        service.apply(account, SettingsChange(idp_login_url=url))
        assert service.get_config(account).idp_login_url == url
    else:
        with pytest.raises(SettingsError) as info:
            service.apply(account, SettingsChange(idp_login_url=url))
        assert "idp_login_url" in info.value.errors


def test_group_filter_that_does_not_compile_gives_the_reason(account):
    with pytest.raises(SettingsError) as info:
        service.apply(account, SettingsChange(group_filter="^(eng|ops"))
    assert "not valid RE2 syntax" in info.value.errors["group_filter"]
    assert "missing )" in info.value.errors["group_filter"]
    service.apply(account, SettingsChange(group_filter="^(eng|ops)-.*$", auto_create_groups=True))
    assert service.get_config(account).group_filter == "^(eng|ops)-.*$"


@pytest.mark.parametrize("pattern", [r"(?<=eng-)ops", r"(eng)-\1", r"(?=eng).*"])
def test_group_filter_outside_re2_is_refused(account, pattern):
    # Look-around and backreferences compile in Python's re but not in RE2, whose matching is linear.
    with pytest.raises(SettingsError) as info:
        service.apply(account, SettingsChange(group_filter=pattern))
    assert "not valid RE2 syntax" in info.value.errors["group_filter"]
    assert service.get_config(account).group_filter is None


def test_several_errors_reported_together(account, private_key_pem):
    with pytest.raises(SettingsError) as info:
        service.apply(account, SettingsChange(idp_login_url="http://evil.example", group_filter="[",
                                              add_certificates=[private_key_pem]))
    assert set(info.value.errors) == {"idp_login_url", "group_filter", "idp_certificate"}
    assert "private key" in info.value.errors["idp_certificate"]


def test_rotation_add_then_remove(account, valid_cert, second_cert):
    configure(account, valid_cert)
    service.apply(account, SettingsChange(add_certificates=[second_cert.der]))
    db.session.commit()
    assert {c.sha256_fingerprint for c in service.active_certificates(account)} == {valid_cert.sha256,
                                                                                    second_cert.sha256}
    lowercase_no_colons = valid_cert.sha256.replace(":", "").lower()
    outcome = service.apply(account, SettingsChange(remove_fingerprints=[lowercase_no_colons]))
    db.session.commit()
    assert outcome.removed == [valid_cert.sha256]
    assert [c.sha256_fingerprint for c in service.active_certificates(account)] == [second_cert.sha256]
    assert events(account, "sso.certificate_removed")[0].details["sha256_fingerprint"] == valid_cert.sha256


def test_adding_the_same_certificate_twice_is_harmless(account, valid_cert):
    configure(account, valid_cert)
    version = service.get_config(account).version
    outcome = service.apply(account, SettingsChange(add_certificates=[valid_cert.pem.replace("\n", "\r\n")]))
    assert not outcome.changed and "already active" in outcome.warnings[0]
    assert service.get_config(account).version == version
    assert len(service.active_certificates(account)) == 1


def test_replace_certificates(account, valid_cert, second_cert):
    configure(account, valid_cert)
    outcome = service.apply(account, SettingsChange(replace_certificates=[second_cert.pem]))
    assert outcome.removed == [valid_cert.sha256] and [i.sha256_fingerprint for i in outcome.added] == [
        second_cert.sha256]


def test_remove_unknown_fingerprint(account, valid_cert, second_cert):
    configure(account, valid_cert)
    with pytest.raises(SettingsError, match="No active certificate"):
        service.apply(account, SettingsChange(remove_fingerprints=[second_cert.sha256]))


def test_certificates_are_per_account(account, other_account, valid_cert):
    configure(account, valid_cert)
    configure(other_account, valid_cert)  # the same IdP certificate may serve two accounts
    assert db.session.scalar(select(db.func.count()).select_from(IdpCertificate)) == 2
    with pytest.raises(SettingsError):
        service.apply(other_account, SettingsChange(remove_fingerprints=["00:11"]))


def test_import_okta_metadata(account, valid_cert):
    outcome = service.import_metadata(account, okta_metadata(valid_cert))
    db.session.commit()
    config = service.get_config(account)
    assert (config.idp_issuer, config.idp_login_url) == (OKTA_ISSUER, OKTA_SSO_URL)
    assert [i.sha256_fingerprint for i in outcome.added] == [valid_cert.sha256]
    assert events(account, "sso.metadata_imported")[0].details["fingerprints"] == [valid_cert.sha256]
    assert service.missing_for_enable(account) == []


def test_import_pysaml2_metadata_replaces_certificates(tmp_path, account, valid_cert, second_cert):
    configure(account, valid_cert)
    service.import_metadata(account, pysaml2_metadata(tmp_path, second_cert))
    db.session.commit()
    assert service.get_config(account).idp_issuer == "https://idp.example.com/saml"
    assert [c.sha256_fingerprint for c in service.active_certificates(account)] == [second_cert.sha256]


def test_import_refuses_http_sso_url(account, valid_cert):
    with pytest.raises(SettingsError, match="https"):
        service.import_metadata(account, okta_metadata(valid_cert, sso_url="http://acme.okta.com/sso"))


def test_health(account, valid_cert, expiring_cert):
    assert service.health(account) == []
    configure(account, valid_cert)
    assert service.health(account) == []
    service.apply(account, SettingsChange(add_certificates=[expiring_cert.pem]))
    (problem,) = service.health(account)
    assert "expires on" in problem and expiring_cert.sha256 in problem
    later = utcnow() + timedelta(days=15)
    assert "expired on" in service.health(account, now=later)[0]
    assert "SSO is enabled but incomplete" not in " ".join(service.health(account, now=later))
    assert any("every active certificate has expired" in p
               for p in service.health(account, now=utcnow() + timedelta(days=4000)))


def test_change_domain(account, other_account, valid_cert):
    assert domains.change_domain(account, "acme") == []
    for bad, message in (("ac", "3 to 63"), ("Acme_Corp", "lowercase"), ("login", "reserved"),
                         ("globex", "already used"), ("-acme", "hyphen")):
        with pytest.raises(FieldErrors, match=message):
            domains.change_domain(account, bad)
    assert domains.change_domain(account, " Acme-Corp ") == []
    db.session.commit()
    assert account.domain == "acme-corp"
    assert events(account, "account.domain_changed")[0].details["changes"]["domain"] == {"old": "acme",
                                                                                         "new": "acme-corp"}
    configure(account, valid_cert)
    (warning,) = domains.change_domain(account, "acme-inc")
    assert "SSO is enabled" in warning and "https://portal.test/login/saml/acme-inc/callback" in warning


def test_listed_email_domains(account, other_account):
    from portal.accounts import email_domains

    assert email_domains.set_domains(account, ["Acme.example", "", "@acme.example"])
    db.session.commit()
    (row,) = email_domains.list_domains(account)
    assert (row.domain, row.verified_at) == ("acme.example", None) and len(row.token) == 32
    assert not email_domains.set_domains(account, ["acme.example"])
    for bad, message in (("gmail.com", "public"), ("not a domain", "not an email domain")):
        with pytest.raises(ServiceError, match=message):
            email_domains.set_domains(account, [bad])
    # Any account may list a domain (no "a user of yours has it" claim); each listing has its own token.
    assert email_domains.set_domains(other_account, ["acme.example"])
    (other,) = email_domains.list_domains(other_account)
    assert other.token != row.token
    assert email_domains.set_domains(account, [])
    assert email_domains.list_domains(account) == []


def test_active_certificates_are_capped(account):
    certs = [make_cert(f"idp{i}.okta.com") for i in range(service.MAX_ACTIVE_CERTIFICATES + 1)]
    service.apply(account, SettingsChange(add_certificates=[c.pem for c in certs[:-1]]))
    with pytest.raises(SettingsError) as info:
        service.apply(account, SettingsChange(add_certificates=[certs[-1].pem]))
    assert f"at most {service.MAX_ACTIVE_CERTIFICATES} active" in info.value.errors["idp_certificate"]
    service.apply(account, SettingsChange(add_certificates=[certs[-1].pem], remove_fingerprints=[certs[0].sha256]))
    assert len(service.active_certificates(account)) == service.MAX_ACTIVE_CERTIFICATES
