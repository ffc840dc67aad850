"""Fixtures of the Metadata URL tests: a test CA and a real HTTPS server on loopback serving IdP metadata."""
from __future__ import annotations

import pytest

from tests.sso.setup.https_server import MetadataServer, TestCa, make_ca


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory) -> TestCa:
    return make_ca(tmp_path_factory.mktemp("metadata-ca"))


@pytest.fixture(scope="session")
def other_ca(tmp_path_factory) -> TestCa:
    """A CA the portal is not told to trust."""
    return make_ca(tmp_path_factory.mktemp("other-ca"), "other")


@pytest.fixture
def metadata_server(test_ca):
    server = MetadataServer(test_ca)
    yield server
    server.close()
