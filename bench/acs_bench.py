"""ACS benchmark: stock python3-saml validation versus the portal's whole SSO login, on this machine, in one run.

    python bench/acs_bench.py                                   # SQLite
    python bench/acs_bench.py --postgres postgresql://postgres@127.0.0.1/postgres   # and PostgreSQL too

(a) python3-saml alone: OneLogin_Saml2_Response(settings, b64).is_valid(request_data, request_id) on the
    test IdP's Okta-like response (Response and Assertion signed, padded to ~10 KB), settings built once,
    one thread.
(b) the portal's whole login through its ACS: HTTP POST to gunicorn (1 worker, 1 thread): validation,
    replay store, user lookup, group sync, audit write, session cookie. Returning users, responses signed
    and form-encoded beforehand (the IdP's signing is not timed), posted with http.client. Measured twice:
    one client at a time (latency: the worker idles while the client reads and sends), and busy, with two
    clients so a login is always waiting (the worker's capacity, what a loaded portal gets per worker).
(c) both again with 1,000 group values.
Prints logins/s and p50/p99 latency for each, and the ratio b/a of logins/s. A scratch database is created per run.
"""
from __future__ import annotations

import argparse
import base64
import http.client
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import requests  # noqa: E402
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C  # noqa: E402
from onelogin.saml2.response import OneLogin_Saml2_Response  # noqa: E402
from onelogin.saml2.settings import OneLogin_Saml2_Settings  # noqa: E402

from tests.idp import TestIdp, make_keypair  # noqa: E402
from tests.load.harness import DOMAIN, IDP_ISSUER, IDP_SSO_URL, make_portal  # noqa: E402
from tests.servers import scratch_database  # noqa: E402

USERS = 20
LIFETIME = 3600  # the signed responses must outlive the run


def okta_groups(count: int) -> list[str]:
    return [f"Okta Group {i:04d} - Engineering Platform" for i in range(count)]


def stock_settings(portal) -> OneLogin_Saml2_Settings:
    """python3-saml settings as an app would write them for this SP and IdP (built once: cached)."""
    base = f"{portal.url}/login/saml/{DOMAIN}"
    return OneLogin_Saml2_Settings({
        "strict": True, "debug": False,
        "sp": {"entityId": base, "assertionConsumerService": {"url": base + "/callback",
                                                              "binding": C.BINDING_HTTP_POST},
               "NameIDFormat": C.NAMEID_EMAIL_ADDRESS},
        "idp": {"entityId": IDP_ISSUER, "singleSignOnService": {"url": IDP_SSO_URL,
                                                                "binding": C.BINDING_HTTP_REDIRECT},
                "x509cert": portal.idp.keypair.cert_pem},
        "security": {"wantAssertionsSigned": True, "wantNameId": True, "rejectDeprecatedAlgorithm": True,
                     "allowSingleLabelDomains": True},
    })


def summary(latencies: list[float], wall: float) -> dict:
    ordered = sorted(latencies)
    return {"rate": len(latencies) / wall, "p50": statistics.median(ordered) * 1000,
            "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000}


def bench_stock(portal, groups: list[str], iterations: int) -> tuple[dict, int]:
    """(a): is_valid on one signed response, repeated."""
    session = requests.Session()
    request = portal.begin(session)
    xml = portal.idp.response(request, "user0@acme.test", sp_metadata=portal.metadata, groups=groups,
                              lifetime=LIFETIME)
    b64 = base64.b64encode(xml.encode())
    settings = stock_settings(portal)
    parts = urlsplit(portal.acs_url)
    data = {"https": "off", "http_host": parts.netloc, "script_name": parts.path, "get_data": {},
            "post_data": {"SAMLResponse": b64.decode()}}
    assert OneLogin_Saml2_Response(settings, b64).is_valid(data, request.request_id, raise_exceptions=True)
    latencies = []
    start = time.perf_counter()
    for _ in range(iterations):
        t = time.perf_counter()
        ok = OneLogin_Saml2_Response(settings, b64).is_valid(data, request.request_id)
        latencies.append(time.perf_counter() - t)
        assert ok
    return summary(latencies, time.perf_counter() - start), len(xml)


def bench_portal(portal, groups: list[str], iterations: int) -> tuple[dict, dict]:
    """(b): whole logins of returning users through the ACS.

    Sequential: one client, one login at a time (latency; the worker idles while the client works).
    Busy: two clients, so the worker always has the next login waiting (its capacity in logins/s).
    The client is plain http.client with bodies encoded beforehand, so the figures are the server's.
    """
    def prepared(i):
        session = requests.Session()
        form = portal.answer(portal.begin(session), f"user{i % USERS}@acme.test", groups=groups, lifetime=LIFETIME)
        return urlencode(form).encode()

    for i in range(USERS):  # first logins (user and team creation) are not the steady state
        assert post(portal, prepared(i))[0] == 303
    sequential = [prepared(i) for i in range(iterations)]
    busy = [prepared(i) for i in range(iterations)]
    return timed(portal, sequential, clients=1), timed(portal, busy, clients=2)


def post(portal, body: bytes, connection: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    """POST one encoded ACS form; (status, body)."""
    parts = urlsplit(portal.acs_url)
    connection = connection or http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    connection.request("POST", parts.path, body=body,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    return response.status, response.read()


def timed(portal, bodies: list[bytes], clients: int) -> dict:
    """Post every body from `clients` threads; logins/s over the whole run and per-login latency."""
    latencies: list[float] = []
    queue = list(reversed(bodies))
    lock = threading.Lock()
    failures: list[str] = []

    def client():
        parts = urlsplit(portal.acs_url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        while True:
            with lock:
                if not queue:
                    return
                body = queue.pop()
            t = time.perf_counter()
            status, text = post(portal, body, connection)
            elapsed = time.perf_counter() - t
            with lock:
                latencies.append(elapsed)
                if status != 303:
                    failures.append(f"{status}: {text[:300]!r}")

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    assert not failures, failures[:3]
    return summary(latencies, wall)


def padded_groups(portal) -> list[str]:
    """Okta-like group values so the signed response is about 10 KB."""
    request = portal.begin(requests.Session())
    count = 10
    while len(portal.idp.response(request, "user0@acme.test", sp_metadata=portal.metadata,
                                  groups=okta_groups(count))) < 10_000:
        count += 5
    return okta_groups(count)


def run(label: str, pg_url: str | None, iterations: int, tmp: Path) -> list[tuple]:
    if pg_url:
        os.environ["PORTAL_TEST_DATABASE_URL"] = pg_url
    else:
        os.environ.pop("PORTAL_TEST_DATABASE_URL", None)
    idp = TestIdp(make_keypair(tmp, f"bench-{label}", "Okta bench"), issuer=IDP_ISSUER, sso_url=IDP_SSO_URL)
    rows = []
    with scratch_database(tmp, f"bench_{label}") as database_url:
        portal = make_portal(database_url, idp, tmp, workers=1, threads=1)
        try:
            for case, groups in (("~10 KB response", padded_groups(portal)), ("1,000 groups", okta_groups(1000))):
                stock, size = bench_stock(portal, groups, iterations)
                sequential, busy = bench_portal(portal, groups, iterations)
                rows.append((label, f"{case} ({size / 1024:.1f} KiB, {len(groups)} groups)", stock, sequential,
                             busy))
        finally:
            portal.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", default=os.environ.get("PORTAL_BENCH_DATABASE_URL"),
                        help="PostgreSQL server URL to create a scratch database on (also run on PostgreSQL)")
    parser.add_argument("-n", "--iterations", type=int, default=300)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += run("sqlite", None, args.iterations, Path(tmp))
        if args.postgres:
            rows += run("postgresql", args.postgres, args.iterations, Path(tmp))
    print(f"\n{args.iterations} logins each. (a) python3-saml is_valid alone, one core. (b) the portal's whole "
          "login over HTTP, one gunicorn worker: one client at a time (latency), and busy (two clients, so the "
          "worker never waits for the next login: its capacity). b/a compares logins/s.")
    print(f"{'database':<11} {'case':<40} {'(a) /s':>7} {'p50':>6} {'p99':>6}   {'(b) one /s':>10} {'p50':>6} "
          f"{'p99':>6} {'b/a':>5}   {'(b) busy /s':>11} {'b/a':>5}")
    for label, case, a, one, busy in rows:
        print(f"{label:<11} {case:<40} {a['rate']:7.1f} {a['p50']:6.2f} {a['p99']:6.2f}   {one['rate']:10.1f} "
              f"{one['p50']:6.2f} {one['p99']:6.2f} {one['rate'] / a['rate']:5.2f}   {busy['rate']:11.1f} "
              f"{busy['rate'] / a['rate']:5.2f}")
    print("latencies in ms")


if __name__ == "__main__":
    main()
