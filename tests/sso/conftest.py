"""SSO fixtures: the pysaml2 test IdP, an account wired to it, a login driver, and generated certificates."""
from __future__ import annotations

import pytest

from devtools.saml_idp import KeyPair, TestIdp, make_keypair
from tests.sso.helpers import Cert, Flow, configure_sso, make_cert, weak_key


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


@pytest.fixture
def flow(client, idp, sso_account) -> Flow:
    return Flow(client, idp, sso_account)


@pytest.fixture(scope="session")
def valid_cert() -> Cert:
    return make_cert()


@pytest.fixture(scope="session")
def second_cert() -> Cert:
    return make_cert("acme-next.okta.com")


@pytest.fixture(scope="session")
def expired_cert() -> Cert:
    return make_cert("old.okta.com", days_valid=30, days_ago=60)


@pytest.fixture(scope="session")
def expiring_cert() -> Cert:
    """Valid, but expires in 10 days."""
    return make_cert("expiring.okta.com", days_valid=20, days_ago=10)


@pytest.fixture(scope="session")
def future_cert() -> Cert:
    """Valid only from ten days on."""
    return make_cert("future.okta.com", days_ago=-10)


@pytest.fixture(scope="session", params=["rsa1024", "dsa"])
def weak_cert(request) -> Cert:
    """A certificate whose key is too weak: RSA-1024, DSA."""
    return make_cert(f"weak-{request.param}.okta.com", key=weak_key(request.param))


@pytest.fixture(scope="session")
def private_key_pem(valid_cert) -> str:
    return valid_cert.key_pem


@pytest.fixture
def hostile_idp(idp_keys) -> TestIdp:
    """The IdP of the hostile account (globex): its own key and issuer."""
    return TestIdp(idp_keys["attacker"], issuer="http://www.okta.com/exkHOSTILE",
                   sso_url="https://hostile.test/app/portal/sso/saml")


@pytest.fixture
def hostile_flow(client, hostile_idp, other_account) -> Flow:
    """Logins at globex, whose admin and IdP are hostile to acme; auto-create users on."""
    configure_sso(other_account, hostile_idp, auto_create_users=True)
    return Flow(client, hostile_idp, other_account)
