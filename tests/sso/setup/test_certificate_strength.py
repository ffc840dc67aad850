"""Weak and not-yet-valid IdP certificates (issue 14, finding 6): refused wherever a certificate comes in
(page, CLI, metadata import); one already stored makes `check` exit 1 and shows a warning on the page."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.sso.setup import settings as service
from portal.sso.setup.certs import CertificateError, describe, parse_certificate
from portal.sso.setup.metadata import MetadataError, parse_idp_metadata
from portal.sso.setup.settings import certificate_row
from tests.helpers import csrf_token
from tests.sso.helpers import okta_metadata

PAGE = "/settings/security/sso"


def _save(client, **fields):
    data = {"csrf_token": csrf_token(client, PAGE), "idp_login_url": "", "idp_issuer": "", "idp_certificate": ""}
    data.update(fields)
    return client.post(PAGE, data=data, content_type="multipart/form-data")


def _store_unchecked(account, pem: str) -> None:
    """A row as an older version of the portal would have stored it, without today's checks."""
    from cryptography import x509

    db.session.add(certificate_row(account, describe(x509.load_pem_x509_certificate(pem.encode()))))
    db.session.commit()


def test_weak_key_refused_by_the_parser(weak_cert):
    with pytest.raises(CertificateError, match="bit RSA key|DSA key"):
        parse_certificate(weak_cert.pem)


def test_weak_key_refused_on_the_page(admin_client, account, weak_cert):
    response = _save(admin_client, idp_certificate=weak_cert.pem)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and ("1024-bit RSA key" in page or "DSA key" in page), page
    assert "at least 2048 bits" in page
    assert service.active_certificates(account) == []


def test_weak_key_refused_by_the_cli(runner, account, tmp_path, weak_cert):
    path = tmp_path / "okta.cert"
    path.write_text(weak_cert.pem)
    for option in ("--idp-cert", "--add-idp-cert"):
        result = runner.invoke(args=["sso-config", "set", "acme", option, str(path)])
        assert result.exit_code == 1 and "refused" in result.output, result.output
    assert service.active_certificates(account) == []


def test_weak_key_refused_in_metadata(runner, account, tmp_path, weak_cert):
    with pytest.raises(MetadataError, match="unusable"):
        parse_idp_metadata(okta_metadata(weak_cert))
    path = tmp_path / "metadata.xml"
    path.write_text(okta_metadata(weak_cert))
    result = runner.invoke(args=["sso-config", "import-metadata", "acme", str(path)])
    assert result.exit_code == 1 and "refused" in result.output
    assert service.active_certificates(account) == []


def test_not_yet_valid_refused_when_added(admin_client, runner, account, tmp_path, future_cert):
    with pytest.raises(CertificateError, match="not valid until"):
        parse_certificate(future_cert.pem)
    assert "not valid until" in _save(admin_client, idp_certificate=future_cert.pem).get_data(as_text=True)
    path = tmp_path / "future.pem"
    path.write_text(future_cert.pem)
    result = runner.invoke(args=["sso-config", "set", "acme", "--add-idp-cert", str(path)])
    assert result.exit_code == 1 and "not valid until" in result.output
    assert service.active_certificates(account) == []


def test_not_yet_valid_in_metadata_skipped_with_a_warning(valid_cert, future_cert):
    xml = okta_metadata(valid_cert)
    key = xml[xml.index("<md:KeyDescriptor"):xml.index("</md:KeyDescriptor>") + len("</md:KeyDescriptor>")]
    metadata = parse_idp_metadata(xml.replace(key, key + key.replace(valid_cert.body, future_cert.body)))
    assert [c.sha256_fingerprint for c in metadata.certificates] == [valid_cert.sha256]
    assert "not valid until" in metadata.warnings[0]


@pytest.mark.parametrize("which, message", [("weak", "too weak"), ("future", "not valid until")])
def test_stored_weak_or_future_certificate_fails_check_and_warns_on_page(admin_client, runner, account, valid_cert,
                                                                         weak_cert, future_cert, which, message):
    _store_unchecked(account, valid_cert.pem)
    assert runner.invoke(args=["sso-config", "check", "acme"]).exit_code == 0
    _store_unchecked(account, (weak_cert if which == "weak" else future_cert).pem)
    result = runner.invoke(args=["sso-config", "check", "acme"])
    assert result.exit_code == 1 and message in result.output, result.output
    assert message in admin_client.get(PAGE).get_data(as_text=True)
