"""Issue 14 finding 2: a hostile account (globex) cannot squat or hijack acme's DNS-verified email domain."""
from __future__ import annotations

from sqlalchemy import func, select

from portal.accounts import email_domains
from portal.extensions import db
from portal.models import User
from portal.sso.reasons import Reason
from tests.helpers import csrf_token
from tests.sso.helpers import assert_refused


def verify(account, zone, domain="acme.test"):
    email_domains.set_domains(account, [domain])
    db.session.commit()
    row = email_domains.get_domain(account, domain)
    zone.set_txt(domain, f"portal-verification={row.token}")
    assert email_domains.check(account, domain).verified
    db.session.commit()
    return row


def users_of(account) -> int:
    return db.session.scalar(select(func.count(User.id)).where(User.account_id == account.id))


def test_hostile_idp_cannot_auto_create_users_at_a_verified_domain(flow, hostile_flow, dns_zone):
    verify(flow.account, dns_zone)
    before = users_of(hostile_flow.account)
    event = assert_refused(hostile_flow, hostile_flow.login("jane@acme.test"), "email_domain_of_other_account")
    assert "verified by DNS" in event.details["fix"] and event.subject == "jane@acme.test"
    assert User.by_email("jane@acme.test") is None and users_of(hostile_flow.account) == before
    page = hostile_flow.login("joe@Acme.Test").get_data(as_text=True)
    assert Reason.EMAIL_DOMAIN_OF_OTHER_ACCOUNT.user_message.split(",")[0] in page
    assert User.by_email("joe@acme.test") is None
    # Its own domains still auto-create, and acme's people keep working at acme.
    assert hostile_flow.login("eve@globex.test").status_code == 303
    flow.account.sso_config.auto_create_users = True
    db.session.commit()
    assert flow.login("jane@acme.test").status_code == 303
    assert User.by_email("jane@acme.test").account_id == flow.account.id


def test_an_unverified_listing_does_not_stop_auto_create(flow, hostile_flow, dns_zone):
    email_domains.set_domains(flow.account, ["acme.test"])  # listed by acme, never proven
    db.session.commit()
    assert hostile_flow.login("jane@acme.test").status_code == 303
    assert User.by_email("jane@acme.test").account_id == hostile_flow.account.id


def test_login_sso_routes_a_work_email_only_once_verified(client, flow, hostile_flow, dns_zone):
    email_domains.set_domains(hostile_flow.account, ["acme.test"])  # globex lists it first: no effect
    email_domains.set_domains(flow.account, ["acme.test"])
    db.session.commit()

    def route():
        token = csrf_token(client, "/login/sso")
        return client.post("/login/sso", data={"domain": "jane@acme.test", "csrf_token": token})

    response = route()
    assert response.status_code == 200 and "Location" not in response.headers
    theirs = email_domains.get_domain(hostile_flow.account, "acme.test")
    mine = verify(flow.account, dns_zone)
    dns_zone.set_txt("acme.test", f"portal-verification={mine.token}", f"portal-verification={theirs.token}")
    assert email_domains.check(hostile_flow.account, "acme.test").reason is not None
    db.session.commit()
    response = route()
    assert response.status_code == 302 and response.headers["Location"] == "/login/saml/acme"
