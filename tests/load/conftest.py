"""Load and fault fixtures: one gunicorn portal (2 workers) on a scratch database, wired to the test IdP."""
from __future__ import annotations

import pytest

from devtools.harness import IDP_ISSUER, IDP_SSO_URL, make_portal
from devtools.saml_idp import TestIdp, make_keypair
from devtools.servers import scratch_database


@pytest.fixture(scope="session")
def load_idp(tmp_path_factory) -> TestIdp:
    keys = make_keypair(tmp_path_factory.mktemp("load-idp"), "load", "Okta load test")
    return TestIdp(keys, issuer=IDP_ISSUER, sso_url=IDP_SSO_URL)


@pytest.fixture(scope="session")
def portal(tmp_path_factory, load_idp):
    """gunicorn, 2 workers x 2 threads, on PostgreSQL when PORTAL_TEST_DATABASE_URL is set, else SQLite (WAL)."""
    tmp = tmp_path_factory.mktemp("load-portal")
    with scratch_database(tmp, "load") as database_url:
        server = make_portal(database_url, load_idp, tmp, workers=2, threads=2)
        try:
            yield server
        finally:
            server.stop()
