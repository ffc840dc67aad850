"""Test SSO: a real SP-initiated login against the configured IdP that reports and changes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from devtools.saml_idp import post_form
from portal.extensions import db
from portal.models import AuditEvent, PendingAuthnRequest, SeenAssertion, Team, TeamMembership, User
from tests.helpers import csrf_token, login, page_without_tokens
from tests.sso.helpers import Flow, configure_sso, cross_site_client, sso_events

SETTINGS = "/settings/security/sso"
ACS = "/login/saml/acme/callback"


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def _events(event_type: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)
                                   .order_by(AuditEvent.id)))


def _snapshot() -> dict:
    """Everything a login could change."""
    db.session.expire_all()
    return {
        "users": sorted((u.email, u.active, u.last_login_at) for u in db.session.scalars(select(User))),
        "teams": sorted(t.name for t in db.session.scalars(select(Team))),
        "memberships": sorted((m.team_id, m.user_id, m.source) for m in db.session.scalars(select(TeamMembership))),
    }


class TestRun:
    """Drives Test SSO: the admin presses the button, the IdP answers, the ACS reports."""
    __test__ = False

    def __init__(self, app, admin_client, idp, account):
        self.app, self.client, self.idp, self.account = app, admin_client, idp, account

    def start(self):
        response = self.client.post(f"{SETTINGS}/test", data={"csrf_token": csrf_token(self.client, SETTINGS)})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return self.idp.receive(self._metadata(), response.headers["Location"])

    def _metadata(self):
        from portal.sso import saml
        return saml.sp_metadata(self.account)

    def post(self, xml, client=None):
        # The IdP's post is cross-site: by default it arrives without the admin's session cookie (only with the
        # SameSite=None binding cookie of the browser that started the test).
        client = client or cross_site_client(self.app, self.client)
        return client.post(ACS, data=post_form(xml))

    def run(self, email="admin@acme.test", client=None, **options):
        request = self.start()
        response = self.post(self.idp.response(request, email, sp_metadata=self._metadata(), **options), client)
        return response

    def result(self, response):
        assert response.status_code == 303, response.get_data(as_text=True)[:800]
        location = response.headers["Location"]
        assert location.startswith(f"{SETTINGS}/test/SSO-"), location
        page = self.client.get(location)
        assert page.status_code == 200
        return page.get_data(as_text=True)


@pytest.fixture
def disabled_account(account, idp):
    """acme with complete IdP fields but SSO turned off."""
    configure_sso(account, idp)
    account.sso_config.enabled = False
    db.session.commit()
    return account


@pytest.fixture
def run(app, admin_client, idp, disabled_account) -> TestRun:
    return TestRun(app, admin_client, idp, disabled_account)


def _groups_on(account):
    config = account.sso_config
    config.auto_create_users = True
    config.auto_create_groups = True
    db.session.commit()


def test_new_user_with_auto_create_changes_nothing(run, disabled_account):
    _groups_on(disabled_account)
    before = _snapshot()
    page = run.result(run.run("new.person@acme.test", groups=["Engineering", "Support"]))
    assert "would" in page and "create" in page and "new.person@acme.test" in page
    assert "Engineering" in page and "Support" in page
    assert _snapshot() == before
    assert User.by_email("new.person@acme.test") is None
    event = _events("sso.test")[-1]
    assert event.outcome == "success" and event.subject == "new.person@acme.test"
    assert event.actor_email == "admin@acme.test"
    assert event.details["user"] == {"email": "new.person@acme.test", "name": "Jane Doe", "exists": False,
                                     "would_create": True}
    assert event.details["teams"]["added"] == ["Engineering", "Support"]
    assert event.details["teams"]["created"] == ["Engineering", "Support"]
    assert event.details["reference"] in page
    assert sso_events() == []  # no sso.login: nobody logged in
    assert _count(PendingAuthnRequest) == 0  # the test request is used up


def test_existing_user_team_changes_are_only_reported(run, disabled_account, member):
    _groups_on(disabled_account)
    old = Team(account_id=disabled_account.id, name="Old", source="sso")
    manual = Team(account_id=disabled_account.id, name="Manual")
    db.session.add_all([old, manual])
    db.session.flush()
    db.session.add_all([TeamMembership(team=old, user=member, account_id=disabled_account.id, source="sso",
                                       group_name="Old"),
                        TeamMembership(team=manual, user=member, account_id=disabled_account.id, source="manual")])
    db.session.commit()
    before = _snapshot()
    page = run.result(run.run("member@acme.test", groups=["New"]))
    assert _snapshot() == before
    teams = _events("sso.test")[-1].details["teams"]
    assert teams["added"] == ["New"] and teams["removed"] == ["Old"] and teams["created"] == ["New"]
    assert _events("sso.test")[-1].details["user"]["exists"] is True
    assert "member@acme.test" in page and "existing user" in page
    assert 'id="teams-added">New<' in page and 'id="teams-removed">Old<' in page


def test_session_is_never_changed_even_with_sso_enabled_and_the_cookie_sent(run, disabled_account, member):
    disabled_account.sso_config.enabled = True
    db.session.commit()
    # This time the ACS post carries the admin's session cookie, and the IdP asserts another user.
    response = run.run("member@acme.test", client=run.client)
    run.result(response)
    assert run.client.get("/").status_code == 200
    with run.client.session_transaction() as session:
        assert session["_user_id"] == str(User.by_email("admin@acme.test").id)  # still the admin, not member
        assert session["login_method"] == "password"  # the admin's own password session, untouched
    assert User.by_email("member@acme.test").last_login_at is None
    assert sso_events() == []
    # An anonymous browser that posts a test response is not signed in either.
    anonymous = run.app.test_client()
    response = run.post(run.idp.response(run.start(), "member@acme.test", sp_metadata=run._metadata()), anonymous)
    assert response.status_code == 303 and response.headers["Location"].startswith(f"{SETTINGS}/test/SSO-")
    assert anonymous.get("/").status_code == 302


def test_a_test_response_cannot_be_posted_again_as_a_login(run, disabled_account):
    disabled_account.sso_config.enabled = True
    disabled_account.sso_config.auto_create_users = True
    db.session.commit()
    request = run.start()
    xml = run.idp.response(request, "new.person@acme.test", sp_metadata=run._metadata())
    run.result(run.post(xml))
    again = cross_site_client(run.app, run.client)
    response = again.post(ACS, data=post_form(xml))
    assert response.status_code == 400
    assert sso_events()[-1].reason == "replayed_assertion"
    assert User.by_email("new.person@acme.test") is None and again.get("/").status_code == 302


def test_failure_shows_the_fix_and_is_audited_as_a_test(run):
    page = run.result(run.run(audience="https://portal.test/login/saml/acme-old"))
    event = _events("sso.test")[-1]
    assert event.outcome == "failure" and event.reason == "audience_mismatch"
    assert "Okta sent Audience <code>https://portal.test/login/saml/acme-old</code>; the SP Entity ID is " \
           "<code>https://portal.test/login/saml/acme</code>. Make them match exactly" in page
    assert "`" not in page  # no literal backticks: code is shown as code
    assert event.details["test_by"] == "admin@acme.test"
    assert sso_events() == []
    assert _count(SeenAssertion) == 0


@pytest.mark.parametrize("email, reason", [("nobody@acme.test", "user_not_found"),
                                           ("admin@globex.test", "user_in_other_account"),
                                           ("member@acme.test", "user_inactive")])
def test_would_be_refused(run, other_account, member, email, reason):
    member.active = False
    db.session.commit()
    before = _snapshot()
    page = run.result(run.run(email))
    event = _events("sso.test")[-1]
    assert event.outcome == "failure" and event.reason == reason and event.subject == email
    assert reason in page and "would be refused" in page
    assert _snapshot() == before


def test_incomplete_settings_refuse_to_start(admin_client, account):
    response = admin_client.post(f"{SETTINGS}/test", data={"csrf_token": csrf_token(admin_client, SETTINGS)})
    assert response.status_code == 302 and response.headers["Location"] == f"{SETTINGS}#step-4"
    assert "Test SSO needs the IdP settings first" in admin_client.get(SETTINGS).get_data(as_text=True)
    assert _count(PendingAuthnRequest) == 0


def test_without_csrf_nothing_starts(admin_client, disabled_account):
    response = admin_client.post(f"{SETTINGS}/test")
    assert response.status_code == 400
    assert _count(PendingAuthnRequest) == 0


def test_needs_manage_sso(member_client, disabled_account):
    token = csrf_token(member_client, "/")
    assert member_client.post(f"{SETTINGS}/test", data={"csrf_token": token}).status_code == 403
    assert _count(PendingAuthnRequest) == 0


def test_normal_login_still_refused_while_sso_is_disabled(app, idp, disabled_account):
    client = app.test_client()
    assert client.get("/login/saml/acme").status_code == 409
    xml = Flow(client, idp, disabled_account).respond(None)
    assert client.post(ACS, data=post_form(xml)).status_code == 400
    assert sso_events()[-1].reason == "sso_disabled"


def test_result_page_is_for_this_accounts_admins_only(run, app, other_account, member):
    location = run.run().headers["Location"]
    other = app.test_client()
    assert login(other, "admin@globex.test").status_code == 302
    foreign, missing = other.get(location), other.get(f"{SETTINGS}/test/SSO-ZZZZZZZZ")
    assert foreign.status_code == missing.status_code == 404  # another account's result: like a missing one
    assert page_without_tokens(foreign) == page_without_tokens(missing)
    members = app.test_client()
    assert login(members, "member@acme.test").status_code == 302
    assert members.get(location).status_code == 403
    assert app.test_client().get(location).status_code == 302  # anonymous: to the login page
    assert run.client.get(f"{SETTINGS}/test/SSO-AAAAAAAA").status_code == 404
    assert run.client.get(f"{SETTINGS}/test/not-a-reference").status_code == 404


def test_settings_page_links_the_last_test(run):
    response = run.run()
    reference = response.headers["Location"].rsplit("/", 1)[-1]
    page = run.client.get(SETTINGS).get_data(as_text=True)
    assert 'id="step-4"' in page and f"{SETTINGS}/test/{reference}" in page


def test_would_be_refused_at_another_accounts_verified_email_domain(run, disabled_account, other_account):
    from portal.models import EmailDomain, utcnow

    _groups_on(disabled_account)
    db.session.add(EmailDomain(account_id=other_account.id, domain="globex.test", token="0" * 32,
                               verified_domain="globex.test", verified_at=utcnow()))
    db.session.commit()
    before = _snapshot()
    page = run.result(run.run("new.person@globex.test"))
    event = _events("sso.test")[-1]
    assert event.outcome == "failure" and event.reason == "email_domain_of_other_account"
    assert "would be refused" in page and _snapshot() == before
    assert User.by_email("new.person@globex.test") is None


def test_passing_test_offers_the_enable_button(run, disabled_account):
    page = run.result(run.run())
    assert "Test SSO passed, but SSO is disabled" in page
    form = page[page.index('<div class="banner" id="enable">'):]
    form = form[:form.index("</form>")]
    assert f'action="{SETTINGS}"' in form and 'name="section" value="enable"' in form
    assert 'name="enabled" value="y"' in form and ">Enable SSO</button>" in form
    response = run.client.post(SETTINGS, data={"csrf_token": csrf_token(run.client, SETTINGS), "section": "enable",
                                               "enabled": "y"})
    assert response.status_code == 302 and response.headers["Location"] == f"{SETTINGS}#step-5"
    db.session.expire_all()
    assert disabled_account.sso_config.enabled
    page = run.client.get(SETTINGS).get_data(as_text=True)
    assert "SSO is enabled: people can log in with SSO now." in page


def test_failing_test_offers_no_enable_button(run):
    page = run.result(run.run(audience="https://portal.test/login/saml/acme-old"))
    assert ">Enable SSO</button>" not in page
