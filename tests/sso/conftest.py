"""SSO fixtures: the pysaml2 test IdP, an account wired to it, and a helper that drives a login."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, IdpCertificate
from portal.sso import saml
from portal.sso.certs import parse_certificate
from portal.sso.settings import certificate_row
from devtools.saml_idp import KeyPair, TestIdp, make_keypair, post_form


def add_certificate(account, pem: str) -> IdpCertificate:
    """Store an active IdP Signature Certificate for account, parsed as the settings page does."""
    row = certificate_row(account, parse_certificate(pem))
    db.session.add(row)
    db.session.flush()
    return row


def configure_sso(account, idp: TestIdp, *, auto_create_users: bool = False, key: KeyPair | None = None) -> None:
    """Point account's SSO settings at idp and turn SSO on."""
    config = account.sso_config
    config.enabled = True
    config.idp_login_url = idp.sso_url
    config.idp_issuer = idp.issuer
    config.auto_create_users = auto_create_users
    add_certificate(account, (key or idp.keypair).cert_pem)
    db.session.commit()


@pytest.fixture(scope="session")
def idp_keys(tmp_path_factory) -> dict[str, KeyPair]:
    """Signing keys generated once per test session: the IdP's, its next one, and an attacker's."""
    directory = tmp_path_factory.mktemp("idp-keys")
    return {"main": make_keypair(directory, "main", "Okta test"),
            "second": make_keypair(directory, "second", "Okta test (rotated)"),
            "attacker": make_keypair(directory, "attacker", "Okta test")}


@pytest.fixture
def idp(idp_keys) -> TestIdp:
    return TestIdp(idp_keys["main"])


@pytest.fixture
def sso_account(account, idp):
    """acme with SSO on, pointing at the test IdP (auto-create users off)."""
    configure_sso(account, idp)
    return account


class Flow:
    """Drives SP-initiated logins: portal → test IdP → ACS, through the test client."""

    def __init__(self, client, idp: TestIdp, account):
        self.client, self.idp, self.account = client, idp, account

    def metadata(self, account=None) -> str:
        return saml.sp_metadata(account or self.account)

    def start(self, next_target: str | None = None, account=None):
        """GET the SP Initiation URL; the AuthnRequest as the IdP parsed it."""
        account = account or self.account
        path = f"/login/saml/{account.domain}" + (f"?{urlencode({'next': next_target})}" if next_target else "")
        response = self.client.get(path)
        assert response.status_code == 302, response.get_data(as_text=True)
        return self.idp.receive(self.metadata(account), response.headers["Location"])

    def respond(self, request, email: str = "admin@acme.test", account=None, **options) -> str:
        return self.idp.response(request, email, sp_metadata=self.metadata(account), **options)

    def post(self, xml, relay_state=None, account=None, data: dict | None = None):
        account = account or self.account
        return self.client.post(f"/login/saml/{account.domain}/callback",
                                data=data if data is not None else post_form(xml, relay_state))

    def login(self, email: str = "admin@acme.test", next_target: str | None = None, **options):
        request = self.start(next_target)
        return self.post(self.respond(request, email, **options), relay_state=request.relay_state)


@pytest.fixture
def flow(client, idp, sso_account) -> Flow:
    return Flow(client, idp, sso_account)


def sso_events(account=None, outcome: str | None = None) -> list[AuditEvent]:
    """The sso.login audit events, oldest first."""
    query = select(AuditEvent).where(AuditEvent.event_type == "sso.login").order_by(AuditEvent.id)
    if account is not None:
        query = query.where(AuditEvent.account_id == account.id)
    if outcome is not None:
        query = query.where(AuditEvent.outcome == outcome)
    db.session.expire_all()
    return list(db.session.scalars(query))


def last_failure(account=None) -> AuditEvent:
    events = sso_events(account, "failure")
    assert events, "no sso.login failure was audited"
    return events[-1]


def assert_refused(flow: Flow, response, reason: str, status: int = 400) -> AuditEvent:
    """A 4xx page with a reference code, the failure audited with reason, and nobody signed in."""
    page = response.get_data(as_text=True)
    assert response.status_code == status, page[:800]
    event = last_failure(flow.account)
    assert event.reason == reason, (event.reason, event.details.get("problem"))
    assert event.details["reference"] in page
    assert event.details["fix"]
    assert "Traceback" not in page and "onelogin" not in page.lower()
    assert flow.client.get("/").status_code == 302  # still anonymous
    assert sso_events(flow.account)[-1].id == event.id  # no login after the refusal
    return event
