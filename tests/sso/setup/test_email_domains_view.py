"""The email domains section of the SSO page: the TXT record, its state and Check DNS (real DNS on loopback)."""
from __future__ import annotations

from portal.accounts import email_domains
from portal.extensions import db
from tests.helpers import csrf_token, page_without_tokens

PAGE = "/settings/security/sso"


def add(client, *domains):
    response = client.post(PAGE, data={"csrf_token": csrf_token(client, PAGE), "section": "domain", "domain": "acme",
                                                  "email_domains": "\n".join(domains)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def test_page_shows_the_record_to_publish_and_check_dns_verifies(admin_client, account, dns_zone):
    add(admin_client, "acme.test")
    (row,) = email_domains.list_domains(account)
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert 'id="email-domains"' in page and "Not verified" in page and "Not checked yet" in page
    assert f'value="portal-verification={row.token}"' in page and "Record type" in page and ">TXT<" in page
    assert f'data-copy="email-domain-{row.id}-value"' in page  # the copy button
    response = admin_client.post(f"{PAGE}/email-domains/{row.id}/check",
                                 data={"csrf_token": csrf_token(admin_client, PAGE)})
    assert response.status_code == 302 and response.headers["Location"].endswith("#email-domains")
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "does not exist in DNS (NXDOMAIN)" in page and "Not verified." in page
    dns_zone.set_txt("acme.test", f"portal-verification={row.token}")
    admin_client.post(f"{PAGE}/email-domains/{row.id}/check", data={"csrf_token": csrf_token(admin_client, PAGE)})
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert '<span class="badge ok">Verified</span>' in page and "Found the TXT record" in page
    db.session.refresh(row)
    assert row.verified_at is not None


def test_check_needs_csrf_and_another_accounts_domain_is_404(admin_client, account, other_account, dns_zone):
    add(admin_client, "acme.test")
    (row,) = email_domains.list_domains(account)
    dns_zone.set_txt("acme.test", f"portal-verification={row.token}")
    admin_client.post(f"{PAGE}/email-domains/{row.id}/check", data={})
    db.session.refresh(row)
    assert row.verified_at is None and row.last_checked_at is None  # no CSRF token: nothing checked
    email_domains.set_domains(other_account, ["globex.test"])
    db.session.commit()
    (theirs,) = email_domains.list_domains(other_account)
    token = csrf_token(admin_client, PAGE)
    other = admin_client.post(f"{PAGE}/email-domains/{theirs.id}/check", data={"csrf_token": token})
    missing = admin_client.post(f"{PAGE}/email-domains/{theirs.id + 1000}/check", data={"csrf_token": token})
    assert other.status_code == missing.status_code == 404
    assert page_without_tokens(other) == page_without_tokens(missing)
    db.session.refresh(theirs)
    assert theirs.last_checked_at is None


def test_member_cannot_check(member_client, account, dns_zone):
    email_domains.set_domains(account, ["acme.test"])
    db.session.commit()
    (row,) = email_domains.list_domains(account)
    response = member_client.post(f"{PAGE}/email-domains/{row.id}/check",
                                  data={"csrf_token": csrf_token(member_client, "/")})
    assert response.status_code == 403
    db.session.refresh(row)
    assert row.last_checked_at is None


def test_public_mailbox_domain_is_refused_next_to_the_field(admin_client, account):
    response = admin_client.post(PAGE, data={"csrf_token": csrf_token(admin_client, PAGE), "section": "domain",
                                                        "domain": "acme", "email_domains": "gmail.com"})
    page = response.get_data(as_text=True)
    assert response.status_code in (200, 422) and "public mailbox provider" in page
    assert 'id="email_domains-error"' in page
    assert email_domains.list_domains(account) == []
