"""Every spelling of an internal address is refused before any connection outside the local try-out: IPv6
literals, IPv4 in decimal, octal and hex, IPv4 inside IPv4-mapped, NAT64 and 6to4 IPv6 addresses (judged as the
IPv4 address they carry), Teredo, zone ids, names resolving to any of these, and redirects ending on them.

Nothing here leaves the machine: `resolve` is replaced by a table and `connect` by a spy that only ever reaches
the loopback test server."""
from __future__ import annotations

import pytest

from portal.audit.events import Reason
from portal.sso.setup import fetch as fetch_module
from portal.sso.setup.fetch import FetchError, FetchPolicy, address_problem, check_url, fetch
from tests.sso.setup.https_server import Route

PRODUCTION = FetchPolicy(allow_loopback=False, timeout=2)
ADDRESS, URL = Reason.METADATA_ADDRESS_REFUSED, Reason.METADATA_URL_REFUSED
PUBLIC = "93.184.216.34"

# host as written in https://HOST/metadata -> (reason, words the message must hold)
FORMS = {
    "[::1]": (ADDRESS, "loopback address (::1)"),
    "[0:0:0:0:0:0:0:1]": (ADDRESS, "loopback address (::1)"),
    "[::ffff:127.0.0.1]": (ADDRESS, "loopback address (127.0.0.1) inside an IPv4-mapped address"),
    "[::ffff:7f00:1]": (ADDRESS, "loopback address (127.0.0.1) inside an IPv4-mapped address"),
    "[::ffff:10.0.0.1]": (ADDRESS, "private address (10.0.0.1) inside an IPv4-mapped address"),
    "[fe80::1%25eth0]": (URL, "zone id"),
    "[2606:4700::1%25eth0]": (URL, "zone id"),
    "2130706433": (ADDRESS, "loopback address (127.0.0.1)"),
    "0x7f.1": (ADDRESS, "loopback address (127.0.0.1)"),
    "0x7f000001": (ADDRESS, "loopback address (127.0.0.1)"),
    "017700000001": (ADDRESS, "loopback address (127.0.0.1)"),
    "127.1": (ADDRESS, "loopback address (127.0.0.1)"),
    "0177.0.0.1": (ADDRESS, "loopback address (127.0.0.1)"),
    "127.0.0.1.": (ADDRESS, "loopback address (127.0.0.1)"),
    "0": (ADDRESS, "unspecified address (0.0.0.0)"),
    "10.1": (ADDRESS, "private address (10.0.0.1)"),
    "0xa.0.0.1": (ADDRESS, "private address (10.0.0.1)"),
    "0xA9.254.169.254": (ADDRESS, "link-local address (169.254.169.254)"),
    "[64:ff9b::7f00:1]": (ADDRESS, "loopback address (127.0.0.1) inside a NAT64 address"),
    "[64:ff9b::a00:1]": (ADDRESS, "private address (10.0.0.1) inside a NAT64 address"),
    "[64:ff9b::a9fe:a9fe]": (ADDRESS, "link-local address (169.254.169.254) inside a NAT64 address"),
    "[64:ff9b:1::a00:1]": (ADDRESS, "64:ff9b:1::a00:1"),  # local-use NAT64 prefix
    "[2002:7f00:1::]": (ADDRESS, "loopback address (127.0.0.1) inside a 6to4 address"),
    "[2002:a00:1::]": (ADDRESS, "private address (10.0.0.1) inside a 6to4 address"),
    "[2002:c0a8:101::1]": (ADDRESS, "private address (192.168.1.1) inside a 6to4 address"),
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]": (ADDRESS, "Teredo"),
    "[::7f00:1]": (ADDRESS, "reserved address"),  # IPv4-compatible (deprecated)
    "[::ffff:0:7f00:1]": (ADDRESS, "reserved address"),  # IPv4-translated
    "[::]": (ADDRESS, "unspecified address"),
    "１２７.０.０.１": (ADDRESS, "loopback address (127.0.0.1)"),  # full-width digits: IDNA makes them 127.0.0.1
    "%31%32%37.0.0.1": (URL, "not a valid host name"),
    "1.2.3.4.5": (URL, "not a valid host name"),
    "256.1.1.1": (URL, "not a valid host name"),
    "08.0.0.1": (URL, "not a valid host name"),
    "example.0x1": (URL, "not a valid host name"),  # ends in a number, so it must be all numbers
}

# a name -> its DNS answer
NAMES = {
    "private.example.com": (["10.0.0.5"], "private address (10.0.0.5)"),
    "mapped.example.com": (["::ffff:10.0.0.1"], "private address (10.0.0.1) inside an IPv4-mapped address"),
    "nat64.example.com": (["64:ff9b::a00:1"], "private address (10.0.0.1) inside a NAT64 address"),
    "sixtofour.example.com": (["2002:a00:1::"], "private address (10.0.0.1) inside a 6to4 address"),
    "teredo.example.com": (["2001:0:4136:e378:8000:63bf:3fff:fdd2"], "Teredo"),
    "zone.example.com": (["2606:4700::1%eth0"], "zone id"),
    "linklocal.example.com": (["fe80::1%eth0"], "link-local address"),
    "mixed.example.com": ([PUBLIC, "2002:7f00:1::"], "loopback address (127.0.0.1) inside a 6to4 address"),
}


@pytest.fixture
def connections(monkeypatch):
    """Addresses the fetch connected to; only the loopback test server is really reached."""
    seen = []

    def connect(address, port, timeout):
        seen.append(address)
        assert address == PUBLIC, f"the fetch tried to connect to {address}"
        return fetch_module.socket.create_connection(("127.0.0.1", port), timeout=timeout)
    monkeypatch.setattr(fetch_module, "connect", connect)
    return seen


@pytest.fixture
def lookups(monkeypatch):
    """Names the fetch resolved (answered from NAMES, and idp.test as a public address; nothing else)."""
    seen = []

    def resolve(host, port):
        seen.append(host)
        if host == "idp.test":
            return [PUBLIC]
        assert host in NAMES, f"unexpected DNS lookup of {host}"
        return NAMES[host][0]
    monkeypatch.setattr(fetch_module, "resolve", resolve)
    return seen


def refusal(url, policy=PRODUCTION) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch(url, policy)
    return info.value


@pytest.mark.parametrize("host", list(FORMS))
def test_every_spelling_of_an_internal_address_is_refused_before_any_lookup_or_connection(host, connections,
                                                                                          lookups):
    reason, words = FORMS[host]
    error = refusal(f"https://{host}/metadata")
    assert error.reason == reason and words in str(error), str(error)
    assert connections == [] and lookups == []


@pytest.mark.parametrize("name", list(NAMES))
def test_a_name_resolving_to_an_internal_address_in_any_form_is_refused_before_connecting(name, connections,
                                                                                          lookups):
    error = refusal(f"https://{name}/metadata")
    assert error.reason == ADDRESS and NAMES[name][1] in str(error), str(error)
    assert f"host {name} resolves to" in str(error)
    assert connections == [] and lookups == [name]


@pytest.mark.parametrize("target", ["https://0x7f.1/", "https://2130706433/", "https://[::ffff:10.0.0.1]/",
                                    "https://[64:ff9b::a9fe:a9fe]/latest/meta-data", "https://[2002:a00:1::]/",
                                    "https://[fe80::1%25eth0]/", "https://nat64.example.com/",
                                    "https://sixtofour.example.com/", "https://10.1/"])
def test_a_redirect_chain_ending_on_an_internal_address_is_refused_before_connecting_there(
        target, metadata_server, test_ca, connections, lookups):
    """The production policy, against the loopback test server posing as a public IdP (idp.test resolves to a
    public address; the connection spy takes it to the test server): two redirects, then an internal address."""
    metadata_server.routes["/a"] = Route(status=302, headers={"Location": "/b"})
    metadata_server.routes["/b"] = Route(status=301, headers={"Location": target})
    policy = FetchPolicy(allow_loopback=False, ca_bundle=test_ca.ca_path, timeout=2)
    error = refusal(metadata_server.url("/a", host="idp.test"), policy)
    assert error.reason in (ADDRESS, URL), str(error)
    assert connections == [PUBLIC, PUBLIC]  # the two hops of the allowed server, nothing after
    assert [path for path, _host in metadata_server.requests] == ["/a", "/b"]


def test_the_production_policy_still_fetches_from_a_public_address(metadata_server, test_ca, connections, lookups):
    metadata_server.serve("/metadata", "<md:EntityDescriptor/>")
    policy = FetchPolicy(allow_loopback=False, ca_bundle=test_ca.ca_path, timeout=2)
    assert fetch(metadata_server.url(host="idp.test"), policy) == b"<md:EntityDescriptor/>"
    assert connections == [PUBLIC] and lookups == ["idp.test"]


@pytest.mark.parametrize("address", [PUBLIC, "2606:4700::1111", "::ffff:93.184.216.34", "64:ff9b::5db8:d822"])
def test_public_addresses_are_accepted_in_every_form(address):
    assert address_problem(address, allow_loopback=False) is None


def test_tunnels_are_refused_whatever_they_carry():
    assert address_problem("2002:5db8:d822::1", allow_loopback=False) == "a 6to4 tunnel address"
    assert "Teredo" in address_problem("2001:0:5db8:d822::1", allow_loopback=False)


@pytest.mark.parametrize("address, problem", [("::ffff:127.0.0.1", None), ("127.0.0.1", None), ("::1", None),
                                              ("64:ff9b::7f00:1", "loopback"), ("2002:7f00:1::", "loopback"),
                                              ("::ffff:10.0.0.1", "private")])
def test_in_the_try_out_only_real_loopback_is_allowed(address, problem):
    """Loopback behind NAT64 or 6to4 is some other machine's, never the portal's own."""
    found = address_problem(address, allow_loopback=True)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize("url, host", [("https://0x7f.1:8443/m", "127.0.0.1"), ("https://2130706433/m", "127.0.0.1"),
                                       ("https://[0:0::1]/m", "::1"), ("https://IdP.Example.COM/m", "idp.example.com"),
                                       ("https://bücher.example/m", "xn--bcher-kva.example")])
def test_check_url_gives_the_host_the_fetch_uses(url, host):
    """The host is judged, resolved, connected to and sent (SNI, Host) in one form: the one a resolver reads."""
    assert check_url(url, allow_loopback=False)[1] == host


def test_http_on_a_loopback_spelling_in_the_try_out_is_judged_on_the_address(connections):
    assert check_url("http://127.1:5000/m", allow_loopback=True) == ("http", "127.0.0.1", 5000)
    assert refusal("http://127.1:5000/m").reason == URL  # outside the try-out, http stays refused
