"""The SSO page's feedback: refusals at the page's own URL with a focused summary, messages in their section."""
from __future__ import annotations

import base64
import io
import re

import pytest

from portal.extensions import db
from portal.models import Account
from portal.sso.setup import settings as service
from portal.sso.setup.settings import SettingsChange
from tests.helpers import csrf_token
from tests.sso.helpers import OKTA_ISSUER, OKTA_SSO_URL

PAGE = "/settings/security/sso"


def post(client, section, follow=False, **fields):
    data = {"csrf_token": csrf_token(client, PAGE), "section": section, **fields}
    return client.post(PAGE, data=data, content_type="multipart/form-data", follow_redirects=follow)


def html(response) -> str:
    return response.get_data(as_text=True)


def section(page: str, anchor: str) -> str:
    """The HTML of the article with this id."""
    start = page.index(f'<article id="{anchor}"')
    return page[start:page.index("</article>", start)]


def summary(page: str) -> str:
    """The one error summary of the page (asserting there is exactly one)."""
    assert page.count("data-error-summary") == 1, page
    start = page.rindex("<div", 0, page.index("data-error-summary"))
    return page[start:page.index("</div>", start)]


def test_refused_save_answers_at_the_page_url_with_a_summary_linking_the_bad_field(admin_client, account):
    response = post(admin_client, "idp", idp_login_url="http://acme.okta.com/sso", idp_issuer="",
                    idp_certificate="")
    assert response.status_code == 422 and response.request.path == PAGE  # a reload is a GET of the page, not a 405
    page = html(response)
    box = summary(page)
    assert 'role="alert"' in box and 'tabindex="-1"' in box
    assert '<a href="#idp_login_url">IdP Login URL: ' in box and "must use https://" in box
    assert box in section(page, "step-3")  # at the top of the section the admin acted in
    field = re.search(r'<input[^>]*id="idp_login_url"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in field
    assert 'aria-describedby="idp_login_url-error idp_login_url-help"' in field
    assert 'id="idp_login_url-error"' in page and 'id="idp_login_url-help"' in page
    assert '/static/form-errors.js' in page  # moves focus to the summary on load
    assert "<script>" not in page and "style=" not in page
    assert admin_client.get(PAGE).status_code == 200


def test_every_link_of_the_summary_points_to_an_invalid_field(admin_client, account):
    page = html(post(admin_client, "idp", idp_login_url="http://acme.okta.com/sso", group_filter="(eng",
                     idp_certificate="not a certificate"))
    targets = re.findall(r'<a href="#([a-z_]+)">', summary(page))
    assert set(targets) == {"idp_login_url", "group_filter", "idp_certificate"}
    for target in targets:
        assert re.search(rf'<(input|textarea)[^>]*id="{target}"[^>]*aria-invalid="true"|'
                         rf'<(input|textarea)[^>]*aria-invalid="true"[^>]*id="{target}"', page), target


def test_help_text_is_tied_to_its_field_without_errors_too(admin_client, account):
    page = html(admin_client.get(PAGE))
    for name in ("idp_issuer", "domain", "email_domains", "group_filter", "new_certificate", "metadata_xml"):
        tag = re.search(rf'<(input|textarea)[^>]*id="{name}"[^>]*>', page).group(0)
        assert f'aria-describedby="{name}-help"' in tag and 'aria-invalid' not in tag, tag
    assert "data-error-summary" not in page


@pytest.mark.parametrize("old, section_name, anchor", [("domain", "domain", "step-1"),
                                                       ("certificates", "certificates", "certificates"),
                                                       ("metadata", "metadata", "metadata"),
                                                       ("require-sso", "require_sso", "require-sso")])
def test_old_section_urls_never_answer_405(admin_client, account, old, section_name, anchor):
    reload = admin_client.get(f"{PAGE}/{old}")
    assert reload.status_code == 200 and f'<article id="{anchor}"' in html(reload)  # the page itself
    posted = admin_client.post(f"{PAGE}/{old}", data={"csrf_token": csrf_token(admin_client, PAGE)})
    assert posted.status_code == 307 and posted.headers["Location"] == f"{PAGE}?section={section_name}"
    assert admin_client.get(posted.headers["Location"]).status_code == 200


def test_old_domain_url_post_is_refused_at_the_page(admin_client, account, other_account):
    data = {"csrf_token": csrf_token(admin_client, PAGE), "domain": "globex"}
    moved = admin_client.post(f"{PAGE}/domain", data=data)
    # A browser re-sends the body to a 307's Location (the test client does not keep it, so re-send it here).
    response = admin_client.post(moved.headers["Location"], data=data)
    assert moved.status_code == 307 and response.status_code == 422 and response.request.path == PAGE
    assert "already used by another account" in summary(html(response))


def test_unknown_section_is_a_bad_request(admin_client, account):
    assert post(admin_client, "nonsense").status_code == 400


def test_saved_message_is_shown_inside_its_section(admin_client, account):
    response = post(admin_client, "idp", idp_issuer=OKTA_ISSUER)
    assert response.status_code == 302 and response.headers["Location"] == f"{PAGE}#step-3"
    page = html(admin_client.get(response.headers["Location"]))
    assert "Saved." in section(page, "step-3")
    assert page.count("Saved.") == 1  # not at the page top as well


def test_certificate_added_and_removed_messages_are_in_the_certificates_section(admin_client, account,
                                                                                valid_cert, second_cert):
    response = post(admin_client, "certificates", new_certificate=valid_cert.pem)
    assert response.headers["Location"] == f"{PAGE}#certificates"
    assert "Added the certificate." in section(html(admin_client.get(PAGE)), "certificates")
    post(admin_client, "certificates", new_certificate=second_cert.pem)
    cert = service.active_certificates(account)[0]
    cert_id, fingerprint = cert.id, cert.sha256_fingerprint
    response = admin_client.post(f"{PAGE}/certificates/{cert_id}/remove",
                                 data={"csrf_token": csrf_token(admin_client, PAGE), "confirm": "yes"},
                                 follow_redirects=True)
    assert f"Removed the certificate {fingerprint}." in section(html(response), "certificates")


def test_refusal_to_remove_the_last_certificate_is_announced_in_its_section(admin_client, account, valid_cert):
    service.apply(account, SettingsChange(idp_login_url=OKTA_SSO_URL, idp_issuer=OKTA_ISSUER,
                                          add_certificates=[valid_cert.pem], enabled=True))
    db.session.commit()
    cert = service.active_certificates(account)[0]
    response = admin_client.post(f"{PAGE}/certificates/{cert.id}/remove",
                                 data={"csrf_token": csrf_token(admin_client, PAGE), "confirm": "yes"})
    assert response.headers["Location"] == f"{PAGE}#certificates"
    page = html(admin_client.get(PAGE))
    box = summary(page)
    assert "disable SSO first" in box and 'role="alert"' in box and box in section(page, "certificates")


@pytest.mark.parametrize("name, content", [
    ("okta.cert", lambda c: c.pem.encode()),
    ("okta.cert", lambda c: c.pem.replace("\n", "").encode()),  # the guide says to remove the new lines
    ("okta.cert", lambda c: base64.b64encode(c.der)),  # bare base64, no BEGIN/END
    ("okta.pem", lambda c: c.der),  # DER whatever the extension
    ("okta.cer", lambda c: c.pem.replace("\n", "\r\n").encode()),
    ("okta.crt", lambda c: c.der),
    ("okta.der", lambda c: c.der),
])
def test_new_certificate_file_judged_by_content(admin_client, account, valid_cert, name, content):
    response = post(admin_client, "certificates", new_certificate_file=(io.BytesIO(content(valid_cert)), name))
    assert response.status_code == 302, html(response)
    assert [c.sha256_fingerprint for c in service.active_certificates(account)] == [valid_cert.sha256]


def test_a_cert_file_that_is_not_a_certificate_is_refused_at_its_field(admin_client, account):
    response = post(admin_client, "certificates", new_certificate_file=(io.BytesIO(b"hello"), "okta.cert"))
    assert response.status_code == 422
    assert '<a href="#new_certificate">' in summary(html(response))
    assert service.active_certificates(account) == []


def test_domain_form_is_all_or_nothing_and_says_so(admin_client, account):
    response = post(admin_client, "domain", domain="acme-corp", email_domains="gmail.com")
    assert response.status_code == 422
    box = summary(html(response))
    assert "public mailbox provider" in box and '<a href="#email_domains">' in box
    assert "The custom domain was not changed either: it stays “acme”" in box
    db.session.expire_all()
    assert Account.by_domain("acme") is not None and Account.by_domain("acme-corp") is None


def test_domain_form_shows_both_errors(admin_client, account, other_account):
    box = summary(html(post(admin_client, "domain", domain="globex", email_domains="gmail.com")))
    assert '<a href="#domain">' in box and "already used by another account" in box
    assert '<a href="#email_domains">' in box and "public mailbox provider" in box


def test_domain_form_saves_both_when_both_are_valid(admin_client, account):
    response = post(admin_client, "domain", domain="acme-corp", email_domains="acme.test")
    assert response.status_code == 302
    db.session.expire_all()
    assert Account.by_domain("acme-corp") is not None
    assert "acme.test" in section(html(admin_client.get(PAGE)), "step-1")


def test_enable_refusal_is_in_step_5(admin_client, account):
    response = post(admin_client, "enable", enabled="y")
    page = html(response)
    assert response.status_code == 422 and "SSO cannot be enabled yet" in section(page, "step-5")
    assert not service.get_config(account).enabled


def test_enable_and_disable(admin_client, account, valid_cert):
    service.apply(account, SettingsChange(idp_login_url=OKTA_SSO_URL, idp_issuer=OKTA_ISSUER,
                                          add_certificates=[valid_cert.pem]))
    db.session.commit()
    response = post(admin_client, "enable", follow=True, enabled="y")
    assert "SSO is enabled" in section(html(response), "step-5") and service.get_config(account).enabled
    assert ">Disable SSO</button>" in html(response)
    response = post(admin_client, "enable", follow=True, confirm="yes")
    assert "SSO is disabled" in section(html(response), "step-5") and not service.get_config(account).enabled


def test_saving_step_3_leaves_sso_enabled(admin_client, account, valid_cert):
    service.apply(account, SettingsChange(idp_login_url=OKTA_SSO_URL, idp_issuer=OKTA_ISSUER,
                                          add_certificates=[valid_cert.pem], enabled=True))
    db.session.commit()
    assert post(admin_client, "idp", idp_login_url=OKTA_SSO_URL, idp_issuer=OKTA_ISSUER,
                auto_create_users="y").status_code == 302
    assert service.get_config(account).enabled and service.get_config(account).auto_create_users


def test_section_forms_post_to_the_page_itself(admin_client, account, valid_cert):
    service.apply(account, SettingsChange(add_certificates=[valid_cert.pem]))
    db.session.commit()
    page = html(admin_client.get(PAGE))
    actions = set(re.findall(r'<form method="post"[^>]*action="([^"]+)"', page))
    # besides the page itself: buttons whose post never re-renders a form (they redirect back with a message)
    assert actions - {PAGE, f"{PAGE}/test", "/logout", f"{PAGE}/sp-keys/create"} == {
        f"{PAGE}/certificates/{service.active_certificates(account)[0].id}/remove"}
    sections = set(re.findall(r'name="section" value="([a-z_]+)"', page))
    assert sections == {"domain", "idp", "certificates", "metadata", "enable", "require_sso", "metadata_url",
                        "attribute_mapping", "sp_keys"}
