"""One use only: replayed posts, reused and expired requests, concurrent posts, rotation, cross-account."""
from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import func, select, update

from devtools.saml_idp import TestIdp, post_form
from portal.extensions import db
from portal.models import PendingAuthnRequest, SeenAssertion, User
from tests.sso.helpers import Flow, add_certificate, assert_refused, configure_sso, cross_site_client, sso_events


def test_replay_of_the_same_post_refused(flow, app, admin):
    request = flow.start()
    xml = flow.respond(request)
    assert flow.post(xml).status_code == 303
    flow.client = app.test_client()  # the replay comes from another browser
    assert_refused(flow, flow.post(xml), "replayed_assertion")


def test_second_use_of_a_request_id_refused(flow, app, admin):
    request = flow.start()
    assert flow.post(flow.respond(request)).status_code == 303
    flow.client = app.test_client()
    assert_refused(flow, flow.post(flow.respond(request)), "request_unknown_or_used")


def test_expired_pending_request_refused(flow, admin):
    request = flow.start()
    db.session.execute(update(PendingAuthnRequest).values(
        expires_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(seconds=1)))
    db.session.commit()
    assert_refused(flow, flow.post(flow.respond(request)), "request_expired")
    assert db.session.get(PendingAuthnRequest, request.request_id) is None  # used up all the same


def test_request_of_another_account_refused(app, client, idp, account, other_account, admin):
    """A pending request of globex cannot be answered at acme's ACS."""
    configure_sso(account, idp)
    configure_sso(other_account, idp)
    globex = Flow(client, idp, other_account)
    acme = Flow(client, idp, account)
    request = globex.start()
    # An IdP answering acme (right audience and ACS) but naming globex's request.
    xml = idp.response(request, "admin@acme.test", sp_metadata=acme.metadata(),
                       audience="https://portal.test/login/saml/acme",
                       destination="https://portal.test/login/saml/acme/callback",
                       recipient="https://portal.test/login/saml/acme/callback")
    assert_refused(acme, acme.post(xml), "request_unknown_or_used")
    assert db.session.get(PendingAuthnRequest, request.request_id) is not None


def test_valid_response_for_account_a_posted_to_b_refused(app, client, idp, account, other_account, admin):
    configure_sso(account, idp)
    configure_sso(other_account, idp)
    acme = Flow(client, idp, account)
    globex = Flow(client, idp, other_account)
    request = acme.start()
    xml = acme.respond(request, "admin@acme.test")
    assert_refused(globex, globex.post(xml), "destination_mismatch")
    assert acme.post(xml).status_code == 303  # still good where it belongs


def test_certificate_rotation_second_active_certificate_accepted(flow, idp_keys, admin):
    add_certificate(flow.account, idp_keys["second"].cert_pem)
    db.session.commit()
    request = flow.start()
    response = flow.post(flow.respond(request, key=idp_keys["second"]))
    assert response.status_code == 303, sso_events(flow.account)[-1].details


def test_signature_by_an_unconfigured_certificate_refused(flow, idp_keys):
    request = flow.start()
    assert_refused(flow, flow.post(flow.respond(request, key=idp_keys["second"])), "signature_invalid")


def test_seen_assertion_kept_until_not_on_or_after(flow, admin):
    request = flow.start()
    assert flow.post(flow.respond(request, lifetime=120)).status_code == 303
    seen = db.session.scalars(select(SeenAssertion)).one()
    left = (seen.expires_at - dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)).total_seconds()
    assert 120 < left <= 120 + 60 + 5  # NotOnOrAfter plus the clock skew


def _post_concurrently(app, posts: list[dict], domain: str = "acme", started_in=None) -> list:
    barrier = threading.Barrier(len(posts))
    results: list = [None] * len(posts)

    def worker(i, data):
        with app.app_context():  # each thread: its own app context, DB session and browser
            browser = cross_site_client(app, started_in) if started_in is not None else app.test_client()
            barrier.wait()
            try:
                response = browser.post(f"/login/saml/{domain}/callback", data=data)
                results[i] = (response.status_code, browser.get("/").status_code)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, data)) for i, data in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_concurrent_identical_posts_log_in_exactly_once(app, flow, admin):
    request = flow.start()
    data = post_form(flow.respond(request))
    results = _post_concurrently(app, [data] * 4, started_in=flow.client)
    assert sorted(results) == [(303, 200), (400, 302), (400, 302), (400, 302)], results
    assert len(sso_events(flow.account, "success")) == 1
    failures = [e.reason for e in sso_events(flow.account, "failure")]
    # Which check stops a loser depends on the race (the request is used up, or the assertion was seen),
    # but every one of the three is refused by one of the two one-use checks.
    assert len(failures) == 3 and set(failures) <= {"replayed_assertion", "request_unknown_or_used"}, failures


def test_concurrent_first_logins_create_the_user_once(app, flow):
    flow.account.sso_config.auto_create_users = True
    db.session.commit()
    posts = []
    for _ in range(3):
        request = flow.start()
        posts.append(post_form(flow.respond(request, "new.person@acme.test")))
    results = _post_concurrently(app, posts, started_in=flow.client)
    assert results == [(303, 200)] * 3, results
    assert db.session.scalar(select(func.count()).select_from(User).where(
        User.email == "new.person@acme.test")) == 1
    assert len(sso_events(flow.account, "success")) == 3


def test_idp_for_each_account_is_independent(app, client, idp_keys, account, other_account, admin):
    """globex trusts another IdP; acme's IdP cannot sign anyone into globex."""
    acme_idp = TestIdp(idp_keys["main"])
    globex_idp = TestIdp(idp_keys["second"], issuer="http://www.okta.com/exkGLOBEX")
    configure_sso(account, acme_idp)
    configure_sso(other_account, globex_idp)
    globex = Flow(client, acme_idp, other_account)
    request = globex.start()
    response = globex.post(globex.respond(request, "admin@globex.test", issuer="http://www.okta.com/exkGLOBEX"))
    assert_refused(globex, response, "signature_invalid")
