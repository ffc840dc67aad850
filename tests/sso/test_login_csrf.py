"""Login CSRF for SAML: a response is accepted only from the browser that started its login."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from devtools.saml_idp import post_form
from portal.extensions import db
from portal.models import User, UserSession
from tests.sso.helpers import Flow, cross_site_client, sso_events


def test_attackers_valid_response_posted_through_a_victims_browser_is_refused(app, idp, sso_account, member):
    attacker = Flow(app.test_client(), idp, sso_account)
    request = attacker.start()  # the attacker starts a login in their own browser...
    xml = attacker.respond(request, "member@acme.test")  # ...and gets their own valid response
    victim = app.test_client()
    response = Flow(victim, idp, sso_account).post(xml)  # an auto-submitting form in the victim's browser
    assert response.status_code == 400 and "not started in this browser" in response.get_data(as_text=True)
    assert victim.get("/").status_code == 302  # nobody is signed in there
    event = sso_events(outcome="failure")[-1]
    assert event.reason == "browser_mismatch" and "login CSRF" in event.details["fix"]
    assert db.session.get(User, member.id).last_sso_login_at is None
    # The response answered its request: it cannot be used again, even from the right browser.
    assert attacker.post(xml).status_code == 400


def test_the_browser_that_started_the_login_gets_in_even_from_another_tab(app, flow, admin):
    first, second = flow.start(), flow.start()  # two tabs: both tags are kept
    for request in (first, second):
        browser = cross_site_client(app, flow.client)
        assert browser.post("/login/saml/acme/callback", data=post_form(flow.respond(request))).status_code == 303
    assert [e.outcome for e in sso_events()] == ["success", "success"]


def test_session_not_on_or_after_ends_the_sso_session_when_earlier(flow, admin):
    ends = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=30)
    request = flow.start()
    assert flow.post(flow.respond(request, "admin@acme.test", session_not_on_or_after=ends)).status_code == 303
    row = db.session.query(UserSession).one()
    assert row.method == "sso" and row.expires_at == ends.replace(tzinfo=None)  # not stretched by the skew


def test_without_session_not_on_or_after_the_lifetime_applies(flow, admin):
    assert flow.login("admin@acme.test").status_code == 303
    row = db.session.query(UserSession).one()
    assert timedelta(hours=11, minutes=59) < row.expires_at - row.created_at <= timedelta(hours=12)
