"""The SSO settings page and the SP metadata URL, through the client."""
from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Account, AuditEvent, IdpCertificate
from portal.sso import saml
from portal.sso.setup import settings as service
from portal.sso.setup.settings import SettingsChange
from tests.helpers import csrf_token, login
from tests.sso.helpers import OKTA_ISSUER, OKTA_SSO_URL, crlf_amp13, okta_metadata, pysaml2_metadata

PAGE = "/settings/security/sso"


def save(client, **fields):
    data = {"csrf_token": csrf_token(client, PAGE), "idp_login_url": "", "idp_issuer": "", "idp_certificate": ""}
    data.update({k: v for k, v in fields.items() if v is not False})
    return client.post(PAGE, data=data, content_type="multipart/form-data")


def post_section(client, section, **fields):
    """Post one section's form of the SSO page, as its hidden section field does."""
    data = {"csrf_token": csrf_token(client, PAGE), "section": section, **fields}
    return client.post(PAGE, data=data, content_type="multipart/form-data")


def html(response) -> str:
    return response.get_data(as_text=True)


def test_page_shows_sp_values_and_okta_walkthrough(admin_client):
    page = html(admin_client.get(PAGE))
    for value in ("https://portal.test/login/saml/acme", "https://portal.test/login/saml/acme/callback"):
        assert f'value="{value}"' in page
    for label in ("SP Entity ID", "SP Assertion Consumer Service URL", "SP Initiation URL", "IdP Login URL",
                  "Identity Provider Issuer", "IdP Signature Certificate", "Auto-create users",
                  "Auto-create groups", "Split comma- or semicolon-separated group values"):
        assert re.search(rf">\s*{re.escape(label)}</label>", page), label
    for okta in ("Single sign on URL", "Audience URI (SP Entity ID)", "Use this for Recipient and Destination URL",
                 "EmailAddress", "http://schemas.xmlsoap.org/claims/Group", "Basic"):
        assert okta in page
    assert page.count('data-copy="sp-') == 3
    assert "To enable SSO, fill in" in page and ">Enable SSO</button>" in page
    assert "<script>" not in page and "style=" not in page  # CSP: no inline script or style


def test_admin_pastes_okta_values_and_enables(admin_client, account, valid_cert):
    response = save(admin_client, idp_login_url=OKTA_SSO_URL, idp_issuer=OKTA_ISSUER,
                    idp_certificate=valid_cert.pem.replace("\n", "\r\n"), auto_create_users="y", enabled="y")
    assert response.status_code == 302, html(response)
    assert not service.get_config(account).enabled  # step 3 saves the values; step 5 enables
    response = post_section(admin_client, "enable", enabled="y")
    assert response.status_code == 302 and response.headers["Location"].endswith("#step-5")
    config = service.get_config(account)
    assert config.enabled and config.auto_create_users and config.idp_issuer == OKTA_ISSUER
    page = html(admin_client.get(PAGE))
    assert valid_cert.sha256 in page and valid_cert.sha1 in page and "CN=acme.okta.com" in page
    assert "Enabled" in page and "To enable SSO" not in page
    types = set(db.session.scalars(select(AuditEvent.event_type).where(AuditEvent.account_id == account.id)))
    assert {"sso.settings_updated", "sso.certificate_added"} <= types


def test_enable_with_missing_fields_lists_them(admin_client, account):
    assert save(admin_client, idp_login_url=OKTA_SSO_URL).status_code == 302
    response = post_section(admin_client, "enable", enabled="y")
    page = html(response)
    assert response.status_code == 422
    summary = page.split('data-error-summary', 1)[1].split("</div>", 1)[0]
    assert "SSO cannot be enabled yet" in summary and "Identity Provider Issuer, IdP Signature Certificate" in page
    assert not service.get_config(account).enabled
    assert service.get_config(account).idp_login_url == OKTA_SSO_URL  # step 3's save stays


@pytest.mark.parametrize("fields, message", [
    ({"idp_login_url": "http://acme.okta.com/sso"}, "must use https://"),
    ({"group_filter": "(eng"}, "not valid RE2 syntax: missing )"),
    ({"group_filter": "(?<=eng)s"}, "not valid RE2 syntax"),
    ({"idp_certificate": "not a certificate"}, "not an X.509 certificate"),
])
def test_field_errors(admin_client, account, fields, message):
    page = html(save(admin_client, **fields))
    assert re.search(r'class="field-error"[^>]*>[^<]*' + re.escape(message), page), page


def test_private_key_refused(admin_client, account, private_key_pem):
    response = save(admin_client, idp_certificate=private_key_pem)
    assert response.status_code == 422 and "private key, not a certificate" in html(response)
    assert service.active_certificates(account) == []


def test_expired_certificate_refused(admin_client, account, expired_cert):
    response = save(admin_client, idp_certificate=expired_cert.pem)
    assert response.status_code == 422 and "expired on" in html(response)
    assert service.active_certificates(account) == []


def test_loopback_http_allowed(admin_client, account):
    assert save(admin_client, idp_login_url="http://127.0.0.1:8000/sso").status_code == 302
    assert service.get_config(account).idp_login_url == "http://127.0.0.1:8000/sso"


@pytest.mark.parametrize("name, content", [
    ("okta.cert", lambda c: c.pem.encode()),
    ("okta.cer", lambda c: c.der),
    ("okta.crt", lambda c: crlf_amp13(c.pem).encode()),
    ("okta.der", lambda c: c.der),
    ("certificate.txt", lambda c: c.pem.encode()),  # judged by content, not by name
])
def test_certificate_upload(admin_client, account, valid_cert, name, content):
    response = save(admin_client, certificate_file=(io.BytesIO(content(valid_cert)), name))
    assert response.status_code == 302, html(response)
    assert [c.sha256_fingerprint for c in service.active_certificates(account)] == [valid_cert.sha256]


def test_upload_that_is_not_a_certificate_is_refused_by_content(admin_client, account):
    page = html(save(admin_client, certificate_file=(io.BytesIO(b"just some notes"), "okta.cert")))
    assert "This is not an X.509 certificate" in page and service.active_certificates(account) == []


def test_rotation_and_expiry_warning(admin_client, account, valid_cert, expiring_cert):
    assert save(admin_client, idp_certificate=expiring_cert.pem).status_code == 302
    page = html(admin_client.get(PAGE))
    assert "Expires in 9 days" in page  # not_after is 10 days after the fixture was made, less a moment
    response = post_section(admin_client, "certificates", new_certificate=valid_cert.pem)
    assert response.status_code == 302
    certs = service.active_certificates(account)
    assert len(certs) == 2
    old = next(c for c in certs if c.sha256_fingerprint == expiring_cert.sha256)
    response = admin_client.post(f"{PAGE}/certificates/{old.id}/remove",
                                 data={"csrf_token": csrf_token(admin_client, PAGE), "confirm": "yes"})
    assert response.status_code == 302
    assert [c.sha256_fingerprint for c in service.active_certificates(account)] == [valid_cert.sha256]


def test_removing_last_certificate_of_enabled_sso_is_refused(admin_client, account, valid_cert):
    service.apply(account, SettingsChange(idp_login_url=OKTA_SSO_URL, idp_issuer=OKTA_ISSUER,
                                          add_certificates=[valid_cert.pem], enabled=True))
    db.session.commit()
    cert = service.active_certificates(account)[0]
    response = admin_client.post(f"{PAGE}/certificates/{cert.id}/remove",
                                 data={"csrf_token": csrf_token(admin_client, PAGE), "confirm": "yes"},
                                 follow_redirects=True)
    assert "disable SSO first" in html(response)
    assert len(service.active_certificates(account)) == 1


def test_cannot_remove_another_accounts_certificate(admin_client, other_account, valid_cert):
    service.apply(other_account, SettingsChange(add_certificates=[valid_cert.pem]))
    db.session.commit()
    cert = service.active_certificates(other_account)[0]
    response = admin_client.post(f"{PAGE}/certificates/{cert.id}/remove",
                                 data={"csrf_token": csrf_token(admin_client, PAGE)})
    assert response.status_code == 404  # like a certificate that does not exist
    assert db.session.get(IdpCertificate, cert.id) is not None


def test_import_metadata_paste_and_upload(tmp_path, admin_client, account, valid_cert, second_cert):
    response = post_section(admin_client, "metadata", metadata_xml=okta_metadata(valid_cert))
    assert response.status_code == 302
    assert service.get_config(account).idp_issuer == OKTA_ISSUER
    xml = pysaml2_metadata(tmp_path, second_cert).encode()
    response = post_section(admin_client, "metadata", metadata_file=(io.BytesIO(xml), "idp.xml"))
    assert response.status_code == 302
    assert [c.sha256_fingerprint for c in service.active_certificates(account)] == [second_cert.sha256]


def test_import_invalid_metadata(admin_client, account):
    response = post_section(admin_client, "metadata", metadata_xml="<!DOCTYPE x><x/>")
    assert response.status_code == 422 and "DOCTYPE" in html(response)


def test_change_domain_warns_when_sso_enabled(admin_client, account, valid_cert):
    service.apply(account, SettingsChange(idp_login_url=OKTA_SSO_URL, idp_issuer=OKTA_ISSUER,
                                          add_certificates=[valid_cert.pem], enabled=True))
    db.session.commit()
    assert "you must update them in your IdP" in html(admin_client.get(PAGE))
    response = post_section(admin_client, "domain", domain="acme-corp")
    assert response.headers["Location"].endswith("#step-1")
    response = admin_client.get(response.headers["Location"])
    page = html(response)
    assert "Update your IdP now" in page and 'value="https://portal.test/login/saml/acme-corp/callback"' in page
    assert Account.by_domain("acme-corp") is not None


def test_change_domain_refused(admin_client, account, other_account):
    for domain, message in (("globex", "already used by another account"), ("sso", "reserved")):
        response = post_section(admin_client, "domain", domain=domain)
        assert response.status_code == 422 and message in html(response)
    assert Account.by_domain("acme").id == account.id


def test_claim_email_domain(admin_client, account):
    response = post_section(admin_client, "domain", domain="acme", email_domains="acme.test\n")
    assert response.status_code == 302
    assert "acme.test" in html(admin_client.get(PAGE))


def test_member_gets_403(member_client, account, valid_cert):
    assert member_client.get(PAGE).status_code == 403
    token = csrf_token(member_client, "/")
    response = member_client.post(PAGE, data={"csrf_token": token, "section": "metadata",
                                              "metadata_xml": okta_metadata(valid_cert)})
    assert response.status_code == 403
    assert service.get_config(account).idp_issuer is None


def test_anonymous_is_sent_to_login(client, account):
    response = client.get(PAGE)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def test_other_account_admin_changes_only_their_own(client, account, other_account, valid_cert):
    assert login(client, "admin@globex.test").status_code == 302
    assert save(client, idp_issuer="http://www.okta.com/globex").status_code == 302
    assert service.get_config(other_account).idp_issuer == "http://www.okta.com/globex"
    assert service.get_config(account).idp_issuer is None
    assert "login/saml/globex" in html(client.get(PAGE))


def test_csrf_required(admin_client, account):
    response = admin_client.post(PAGE, data={"idp_issuer": "x"})
    assert response.status_code == 400
    assert service.get_config(account).idp_issuer is None


def test_sp_metadata(client, account):
    response = client.get("/login/saml/acme/metadata")
    assert response.status_code == 200
    assert response.mimetype == "application/samlmetadata+xml"
    xml = html(response)
    assert saml.validate_sp_metadata(xml) == []
    assert 'entityID="https://portal.test/login/saml/acme"' in xml
    assert "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" in xml
    assert 'Location="https://portal.test/login/saml/acme/callback"' in xml
    assert "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" in xml
    assert client.get("/login/saml/nosuch/metadata").status_code == 404
