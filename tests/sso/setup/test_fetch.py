"""The Metadata URL fetch: a real HTTPS server on loopback; internal addresses refused before any connection."""
from __future__ import annotations

import time

import pytest

from portal.audit.events import Reason
from portal.sso.setup import fetch as fetch_module
from portal.sso.setup.fetch import FetchError, FetchPolicy, fetch
from tests.sso.setup.https_server import Route

DOC = "<md:EntityDescriptor/>"


@pytest.fixture
def policy(test_ca) -> FetchPolicy:
    """The local try-out's policy (loopback allowed), trusting the test CA."""
    return FetchPolicy(allow_loopback=True, ca_bundle=test_ca.ca_path, timeout=2)


@pytest.fixture
def connections(monkeypatch):
    """Every address the fetch connects to; the real connection still happens (loopback only)."""
    seen = []
    real = fetch_module.connect

    def spy(address, port, timeout):
        seen.append(address)
        assert address == "127.0.0.1", f"the fetch tried to connect to {address}"
        return real(address, port, timeout)
    monkeypatch.setattr(fetch_module, "connect", spy)
    return seen


@pytest.fixture
def resolver(monkeypatch):
    """Names the fetch may resolve, answered without DNS; any other name fails the test."""
    answers: dict[str, list[str]] = {}

    def resolve(host, port):
        assert host in answers, f"unexpected DNS lookup of {host}"
        return answers[host]
    monkeypatch.setattr(fetch_module, "resolve", resolve)
    return answers


def refused(url, policy, reason):
    with pytest.raises(FetchError) as info:
        fetch(url, policy)
    assert info.value.reason == reason, str(info.value)
    return str(info.value)


def test_fetches_over_https_from_loopback_in_the_try_out(metadata_server, policy, connections):
    url = metadata_server.serve("/metadata", DOC)
    assert fetch(url, policy) == DOC.encode()
    assert connections == ["127.0.0.1"]


def test_connects_to_the_checked_address_with_the_name_for_tls_and_host(metadata_server, policy, connections,
                                                                        resolver):
    resolver["idp.test"] = ["127.0.0.1"]
    metadata_server.serve("/metadata", DOC)
    assert fetch(metadata_server.url(host="idp.test"), policy) == DOC.encode()
    assert connections == ["127.0.0.1"]
    assert metadata_server.requests == [("/metadata", f"idp.test:{metadata_server.port}")]


@pytest.mark.parametrize("url, what", [
    ("https://10.0.0.1/metadata", "private"),
    ("https://192.168.1.1/metadata", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://[::1]/metadata", "loopback"),
    ("https://127.0.0.1/metadata", "loopback"),
    ("https://0.0.0.0/metadata", "unspecified"),
    ("https://[::ffff:10.0.0.1]/metadata", "private"),
    ("https://224.0.0.1/metadata", "multicast"),
    ("https://100.64.0.1/metadata", "non-public"),
    ("https://[fe80::1]/metadata", "link-local"),
    ("https://240.0.0.1/metadata", "reserved"),
])
def test_internal_addresses_are_refused_before_connecting(url, what, connections):
    message = refused(url, FetchPolicy(allow_loopback=False), Reason.METADATA_ADDRESS_REFUSED)
    assert what in message
    assert connections == []


@pytest.mark.parametrize("answer", [["10.1.2.3"], ["192.168.1.1"], ["127.0.0.1"], ["93.184.216.34", "10.0.0.1"]])
def test_a_name_resolving_to_an_internal_address_is_refused_before_connecting(answer, connections, resolver):
    resolver["idp.example.com"] = answer
    refused("https://idp.example.com/metadata", FetchPolicy(allow_loopback=False), Reason.METADATA_ADDRESS_REFUSED)
    assert connections == []


def test_loopback_outside_the_try_out_is_refused_even_with_a_server_there(metadata_server, test_ca, connections):
    url = metadata_server.serve("/metadata", DOC)
    refused(url, FetchPolicy(allow_loopback=False, ca_bundle=test_ca.ca_path), Reason.METADATA_ADDRESS_REFUSED)
    assert connections == [] and metadata_server.requests == []


@pytest.mark.parametrize("target", ["https://10.0.0.1/metadata", "https://169.254.169.254/latest/meta-data",
                                    "https://internal.example.com/metadata", "https://0.0.0.0/metadata"])
def test_a_redirect_to_a_refused_address_is_refused_before_connecting(metadata_server, test_ca, connections,
                                                                     resolver, target):
    resolver["internal.example.com"] = ["192.168.1.1"]
    metadata_server.routes["/moved"] = Route(status=302, headers={"Location": target})
    policy = FetchPolicy(allow_loopback=True, ca_bundle=test_ca.ca_path, timeout=2)  # to reach the test server
    refused(metadata_server.url("/moved"), policy, Reason.METADATA_ADDRESS_REFUSED)
    assert connections == ["127.0.0.1"]  # the allowed server only
    assert [path for path, _host in metadata_server.requests] == ["/moved"]


def test_a_redirect_from_https_down_to_http_is_refused(metadata_server, policy, connections):
    metadata_server.routes["/moved"] = Route(status=302, headers={"Location": "http://idp.example.com/metadata"})
    refused(metadata_server.url("/moved"), policy, Reason.METADATA_URL_REFUSED)
    assert connections == ["127.0.0.1"]


def test_redirects_are_followed_a_few_times(metadata_server, policy, connections):
    metadata_server.serve("/final", DOC)
    metadata_server.routes["/a"] = Route(status=301, headers={"Location": "/final"})
    assert fetch(metadata_server.url("/a"), policy) == DOC.encode()
    for hop in range(5):
        metadata_server.routes[f"/loop{hop}"] = Route(status=302, headers={"Location": f"/loop{hop + 1}"})
    assert "redirected more than" in refused(metadata_server.url("/loop0"), policy, Reason.METADATA_HTTP_STATUS)


def test_http_404(metadata_server, policy):
    assert "HTTP 404" in refused(metadata_server.url("/missing"), policy, Reason.METADATA_HTTP_STATUS)


def test_too_large_with_content_length(metadata_server, policy):
    metadata_server.serve("/big", b"<" * (policy.max_bytes + 1))
    refused(metadata_server.url("/big"), policy, Reason.METADATA_TOO_LARGE)


def test_too_large_while_streaming_without_content_length(metadata_server, policy):
    metadata_server.serve("/stream", b"", chunked_size=4 * policy.max_bytes)
    refused(metadata_server.url("/stream"), policy, Reason.METADATA_TOO_LARGE)


def test_timeout(metadata_server, test_ca):
    metadata_server.serve("/slow", DOC, delay=3)
    policy = FetchPolicy(allow_loopback=True, ca_bundle=test_ca.ca_path, timeout=0.5)
    started = time.monotonic()
    refused(metadata_server.url("/slow"), policy, Reason.METADATA_TIMEOUT)
    assert time.monotonic() - started < 2  # the socket gives up; it does not wait for the slow answer


def test_untrusted_tls_certificate(metadata_server, other_ca):
    metadata_server.serve("/metadata", DOC)
    policy = FetchPolicy(allow_loopback=True, ca_bundle=other_ca.ca_path, timeout=2)
    assert "certificate" in refused(metadata_server.url(), policy, Reason.METADATA_TLS_FAILED)
    assert metadata_server.requests == []


def test_tls_certificate_for_another_name(metadata_server, policy, resolver):
    resolver["other.test"] = ["127.0.0.1"]
    metadata_server.serve("/metadata", DOC)
    refused(metadata_server.url(host="other.test"), policy, Reason.METADATA_TLS_FAILED)


def test_connection_refused(policy):
    refused("https://127.0.0.1:1/metadata", policy, Reason.METADATA_FETCH_FAILED)


@pytest.mark.parametrize("url", ["ftp://idp.example.com/metadata", "file:///etc/passwd", "https://",
                                 "http://idp.example.com/metadata", "https://user:pw@idp.example.com/m",
                                 "https://idp.example.com:99999/m"])
def test_bad_urls_are_refused_before_any_lookup(url, policy, connections, resolver):
    refused(url, policy, Reason.METADATA_URL_REFUSED)
    assert connections == []


def test_http_on_loopback_only_in_the_try_out(connections):
    refused("http://127.0.0.1:1/metadata", FetchPolicy(allow_loopback=False), Reason.METADATA_URL_REFUSED)
    refused("http://127.0.0.1:1/metadata", FetchPolicy(allow_loopback=True), Reason.METADATA_FETCH_FAILED)
    assert connections == ["127.0.0.1"]


