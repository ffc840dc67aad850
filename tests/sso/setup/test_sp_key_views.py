"""The SSO page's SP key section: the two options, creating the key pair, downloading the SP certificate."""
from __future__ import annotations

import re

from cryptography import x509

from portal.extensions import db
from portal.models import SsoConfig
from portal.sso import sp_keys
from tests.helpers import csrf_token, login

PAGE = "/settings/security/sso"


def html(response) -> str:
    return response.get_data(as_text=True)


def test_section_with_guide_labels_and_no_key_yet(admin_client):
    page = html(admin_client.get(PAGE))
    assert 'id="sp-keys"' in page
    for label in ("Sign AuthnRequests", "Want encrypted assertions"):
        assert re.search(rf">\s*{re.escape(label)}</label>", page), label
    assert "Create SP certificate" in page and "Download the SP certificate" not in page
    assert "<script>" not in page and "style=" not in page


def test_turning_encryption_on_creates_the_key_and_offers_the_certificate(admin_client, account):
    response = admin_client.post(PAGE, data={"csrf_token": csrf_token(admin_client, PAGE), "section": "sp_keys",
                                                          "want_encrypted_assertions": "y"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#sp-keys")
    config = db.session.get(SsoConfig, account.id)
    db.session.refresh(config)
    assert config.want_encrypted_assertions is True and config.sign_requests is False
    key = sp_keys.keys(account)["current"]
    page = html(admin_client.get(PAGE))
    assert key.sha256_fingerprint in page and "Download the SP certificate" in page
    download = admin_client.get(PAGE + "/sp-certificate/current")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == 'attachment; filename="acme-sp.pem"'
    assert x509.load_pem_x509_certificate(download.data).public_key().key_size == 3072
    assert b"PRIVATE" not in download.data
    assert admin_client.get(PAGE + "/sp-certificate/next").status_code == 404  # no rotation under way
    response = admin_client.post(PAGE, data={"csrf_token": csrf_token(admin_client, PAGE), "section": "sp_keys"})
    db.session.refresh(config)
    assert config.want_encrypted_assertions is False
    assert sp_keys.keys(account)["current"].sha256_fingerprint == key.sha256_fingerprint  # the key stays


def test_create_certificate_first_then_rotation_shows_both(admin_client, account):
    response = admin_client.post(PAGE + "/sp-keys/create", data={"csrf_token": csrf_token(admin_client, PAGE)})
    assert response.status_code == 302
    config = db.session.get(SsoConfig, account.id)
    assert not config.sign_requests and not config.want_encrypted_assertions  # nothing turned on
    sp_keys.rotate(account)
    db.session.commit()
    page = html(admin_client.get(PAGE))
    assert "Download the next SP certificate" in page and "rotate-sp-key acme --finish" in page
    assert admin_client.get(PAGE + "/sp-certificate/next").status_code == 200


def test_forms_need_csrf_and_the_permission(admin_client, member, client, account):
    assert admin_client.post(PAGE, data={"section": "sp_keys", "want_encrypted_assertions": "y"}).status_code in (400, 422)
    assert sp_keys.keys(account) == {}
    assert admin_client.post(PAGE + "/sp-keys/create", data={}).status_code in (302, 400)
    assert sp_keys.keys(account) == {}
    admin_client.post("/logout", data={"csrf_token": csrf_token(admin_client, PAGE)})
    login(client, member.email)
    assert client.get(PAGE + "/sp-certificate/current").status_code == 403
    assert client.post(PAGE + "/sp-keys/create", data={"csrf_token": csrf_token(client, "/")}).status_code == 403
    assert sp_keys.keys(account) == {}


def test_another_accounts_certificate_is_not_reachable(app, client, account, other_account):
    sp_keys.ensure(account)
    db.session.commit()
    login(client, "admin@globex.test")
    assert client.get(PAGE + "/sp-certificate/current").status_code == 404
