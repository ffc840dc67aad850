"""The Metadata URL fetch's timeout is one wall-clock deadline over name lookup, connection, TLS, status line, headers
and body of every hop: a server dripping one byte at a time cannot stretch it, on the page, in the CLI, nor in
`refresh-metadata --all`, where one slow account must not hold up the others."""
from __future__ import annotations

import threading
import time

import pytest

from portal.audit.events import Reason
from portal.extensions import db
from portal.sso.setup import fetch as fetch_module
from portal.sso.setup import metadata_url, settings
from portal.sso.setup.fetch import FetchError, FetchPolicy, fetch
from tests.helpers import csrf_token
from tests.sso.setup.drip_server import DripServer, body_dripped, chunked_body_dripped, headers_dripped
from tests.sso.setup.https_server import Route, idp_metadata

TIMEOUT = 1  # seconds
MARGIN = 1.5  # generous: a shared test machine, and no test may flake on a tight figure
PAGE = "/settings/security/sso"
DRIPS = {"headers": headers_dripped, "chunked_body": chunked_body_dripped, "body": body_dripped}


@pytest.fixture
def app_config(test_ca):
    """The local try-out (loopback may be fetched), trusting the test CA, with a 1 s fetch timeout."""
    return {"BASE_URL": "http://127.0.0.1:5000", "METADATA_CA_BUNDLE": test_ca.ca_path,
            "METADATA_FETCH_TIMEOUT": TIMEOUT}


@pytest.fixture
def loopback_only(monkeypatch):
    """The fetch may connect to 127.0.0.1 only (the test servers)."""
    real = fetch_module.connect

    def connect(address, port, timeout):
        assert address == "127.0.0.1", f"the fetch tried to connect to {address}"
        return real(address, port, timeout)
    monkeypatch.setattr(fetch_module, "connect", connect)


@pytest.fixture
def drip_servers(test_ca):
    """Start DripServer(kind, tls=...) on loopback; all are stopped after the test."""
    started = []

    def start(kind="headers", tls=True, cap=8.0):
        server = DripServer(DRIPS[kind](), gap=0.2, cap=cap, ca=test_ca if tls else None)
        started.append(server)
        return server
    yield start
    for server in started:
        server.close()


def timed_out(url, policy) -> tuple[float, str]:
    """Seconds the fetch took to fail with METADATA_TIMEOUT, and its message."""
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        fetch(url, policy)
    elapsed = time.monotonic() - started
    assert info.value.reason == Reason.METADATA_TIMEOUT, str(info.value)
    return elapsed, str(info.value)


@pytest.mark.parametrize("tls", [True, False], ids=["https", "http"])
@pytest.mark.parametrize("kind", sorted(DRIPS))
def test_a_dripping_server_cannot_stretch_the_fetch_past_its_deadline(kind, tls, test_ca, drip_servers,
                                                                      loopback_only):
    """One byte every 0.2 s never leaves a read waiting a whole timeout: only a deadline over the whole fetch ends
    it (the status line and headers, or a chunked body's size line, used to keep it alive for as long as the
    server liked)."""
    server = drip_servers(kind, tls=tls)
    elapsed, message = timed_out(server.url(), FetchPolicy(allow_loopback=True, ca_bundle=test_ca.ca_path,
                                                           timeout=TIMEOUT))
    assert TIMEOUT - 0.1 <= elapsed < TIMEOUT + MARGIN
    assert f"did not answer within {TIMEOUT} s" in message
    assert server.requests == 1


def test_the_deadline_covers_every_redirect_hop(metadata_server, test_ca, drip_servers, loopback_only):
    server = drip_servers("headers")
    metadata_server.routes["/moved"] = Route(status=302, headers={"Location": server.url()}, delay=0.4)
    elapsed, _ = timed_out(metadata_server.url("/moved"), FetchPolicy(allow_loopback=True,
                                                                      ca_bundle=test_ca.ca_path, timeout=TIMEOUT))
    assert elapsed < TIMEOUT + MARGIN
    assert server.requests == 1


def test_a_slow_name_lookup_counts_against_the_deadline(monkeypatch, loopback_only):
    """getaddrinfo has no timeout of its own: a resolver that does not answer ends the fetch at the deadline."""
    release = threading.Event()

    def resolve(host, port):
        release.wait(30)
        return ["127.0.0.1"]
    monkeypatch.setattr(fetch_module, "resolve", resolve)
    try:
        elapsed, message = timed_out("https://slow-dns.test/metadata", FetchPolicy(timeout=TIMEOUT))
    finally:
        release.set()
    assert elapsed < TIMEOUT + MARGIN and "slow-dns.test" in message


def test_a_fast_server_still_answers_under_the_deadline(metadata_server, test_ca, loopback_only):
    metadata_server.serve("/metadata", "<md:EntityDescriptor/>")
    policy = FetchPolicy(allow_loopback=True, ca_bundle=test_ca.ca_path, timeout=TIMEOUT)
    assert fetch(metadata_server.url(), policy) == b"<md:EntityDescriptor/>"


def test_refresh_all_finishes_the_other_accounts_on_time(runner, account, other_account, idp, idp_keys,
                                                         metadata_server, drip_servers, loopback_only):
    """acme's server drips (and comes first); globex's answers at once: globex is refreshed, and the command ends
    about one timeout after it started, not when acme's server stops dripping."""
    metadata_server.serve("/metadata", idp_metadata(idp, [idp_keys["main"]]))
    slow = drip_servers("headers", cap=15)
    settings.get_config(account).idp_metadata_url = slow.url()
    settings.get_config(other_account).idp_metadata_url = metadata_server.url()
    db.session.commit()
    started = time.monotonic()
    result = runner.invoke(args=["sso-config", "refresh-metadata", "--all"])
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert "FAILED: acme: [metadata_timeout]" in result.output and "OK: globex" in result.output
    assert elapsed < TIMEOUT + MARGIN + 2  # + the fast account's refresh and the commits
    db.session.expire_all()
    assert settings.get_config(account).metadata_refresh_reason == "metadata_timeout"
    assert settings.get_config(other_account).idp_issuer == idp.issuer


def test_cli_set_ends_at_the_deadline_and_saves_nothing(runner, account, drip_servers, loopback_only):
    slow = drip_servers("headers")
    started = time.monotonic()
    result = runner.invoke(args=["sso-config", "set", "acme", "--idp-metadata-url", slow.url()])
    assert time.monotonic() - started < TIMEOUT + MARGIN
    assert result.exit_code == 1 and f"did not answer within {TIMEOUT} s" in result.output, result.output
    assert settings.get_config(account).idp_metadata_url is None


def test_page_save_ends_at_the_deadline(admin_client, account, drip_servers, loopback_only):
    slow = drip_servers("headers")
    token = csrf_token(admin_client, PAGE)
    started = time.monotonic()
    response = admin_client.post(PAGE, data={"csrf_token": token, "section": "metadata_url",
                                             "idp_metadata_url": slow.url()})
    assert time.monotonic() - started < TIMEOUT + MARGIN
    assert response.status_code == 422 and "did not answer within" in response.get_data(as_text=True)
    assert settings.get_config(account).idp_metadata_url is None
    assert metadata_url.state(account)["idp_metadata_url"] is None
