"""The SSO page's destructive changes go through a confirmation step: removing a certificate, turning SSO off and
turning Require SSO on each show a page naming the consequence first, and change nothing without its confirm field."""
from __future__ import annotations

import re

from portal.extensions import db
from portal.models import User
from portal.sso.setup import settings as service
from portal.sso.setup.settings import SettingsChange
from tests.helpers import csrf_token, page_without_tokens
from tests.sso.helpers import OKTA_ISSUER, OKTA_SSO_URL, make_cert

PAGE = "/settings/security/sso"


def _enabled(account, *pems):
    service.apply(account, SettingsChange(idp_login_url=OKTA_SSO_URL, idp_issuer=OKTA_ISSUER,
                                          add_certificates=list(pems), enabled=True))
    db.session.commit()


def _hidden(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


def test_removing_a_certificate_names_it_and_needs_the_step(admin_client, account):
    keep, old = make_cert("new.okta.com"), make_cert("old.okta.com")
    _enabled(account, keep.pem, old.pem)
    cert = next(c for c in service.active_certificates(account) if c.sha256_fingerprint == old.sha256)
    url = f"{PAGE}/certificates/{cert.id}/remove"
    step = admin_client.get(url)
    text = step.get_data(as_text=True)
    assert step.status_code == 200 and "old.okta.com" in text and old.sha256 in text
    assert "every SSO login fails" in text and "Cancel" in text
    token = csrf_token(admin_client, PAGE)
    first = admin_client.post(url, data={"csrf_token": token})  # the page's Remove button posts this
    assert first.status_code == 200 and "Remove the IdP Signature Certificate" in first.get_data(as_text=True)
    assert len(service.active_certificates(account)) == 2
    done = admin_client.post(url, data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 302
    assert [c.sha256_fingerprint for c in service.active_certificates(account)] == [keep.sha256]


def test_another_accounts_certificate_step_is_a_404(admin_client, other_account):
    _enabled(other_account, make_cert().pem)
    theirs = service.active_certificates(other_account)[0]
    other = admin_client.get(f"{PAGE}/certificates/{theirs.id}/remove")
    missing = admin_client.get(f"{PAGE}/certificates/999999/remove")
    assert other.status_code == missing.status_code == 404
    assert page_without_tokens(other) == page_without_tokens(missing)


def test_turning_sso_off_asks_first_and_keeps_the_posted_form(admin_client, account):
    _enabled(account, make_cert().pem)
    data = {"csrf_token": csrf_token(admin_client, PAGE), "section": "enable"}  # step 5's Disable SSO button
    step = admin_client.post(PAGE, data=data)
    text = step.get_data(as_text=True)
    assert step.status_code == 200 and "Turn SSO off for Acme?" in text and "cannot log in at all" in text
    db.session.expire_all()
    assert account.sso_config.enabled is True  # nothing saved yet
    carried = _hidden(text)
    assert carried["section"] == "enable" and "enabled" not in carried
    done = admin_client.post(PAGE, data={**carried, "csrf_token": data["csrf_token"], "confirm": "yes"})
    assert done.status_code == 302
    db.session.expire_all()
    assert account.sso_config.enabled is False


def test_saving_with_sso_left_on_needs_no_step(admin_client, account):
    _enabled(account, make_cert().pem)
    response = admin_client.post(PAGE, data={"csrf_token": csrf_token(admin_client, PAGE), "enabled": "y",
                                             "idp_login_url": OKTA_SSO_URL, "idp_issuer": OKTA_ISSUER,
                                             "idp_certificate": ""}, content_type="multipart/form-data")
    assert response.status_code == 302


def test_require_sso_asks_first_naming_the_break_glass_admins(admin_client, account, admin):
    _enabled(account, make_cert().pem)
    db.session.get(User, admin.id).break_glass = True
    db.session.commit()
    token = csrf_token(admin_client, PAGE)
    step = admin_client.post(PAGE, data={"csrf_token": token, "section": "require_sso", "require_sso": "y"})
    text = step.get_data(as_text=True)
    assert step.status_code == 200 and "Require SSO for Acme?" in text and admin.email in text
    assert "Password login is refused" in text
    db.session.expire_all()
    assert account.sso_config.require_sso is False
    done = admin_client.post(PAGE, data={**_hidden(text), "csrf_token": token, "confirm": "yes"})
    assert done.status_code == 302
    db.session.expire_all()
    assert account.sso_config.require_sso is True
    # Turning it off takes nothing away: no step.
    off = admin_client.post(PAGE, data={"csrf_token": token, "section": "require_sso"})
    assert off.status_code == 302
