"""ACS benchmark: stock python3-saml validation versus the portal's whole SSO login, on this machine, in one run.

    python bench/acs_bench.py                                   # SQLite
    python bench/acs_bench.py --postgres postgresql://postgres@127.0.0.1/postgres   # and PostgreSQL too

(a) python3-saml alone: OneLogin_Saml2_Response(settings, b64).is_valid(request_data, request_id) on the
    test IdP's Okta-like response (Response and Assertion signed, padded to ~10 KB), settings built once,
    one thread.
(b) the portal's whole login through its ACS: HTTP POST to gunicorn (1 worker, 1 thread): validation,
    replay store, user lookup, group sync, audit write, session cookie. Returning users, responses signed
    and form-encoded beforehand (the IdP's signing is not timed), posted one at a time with http.client.
(c) both again with 1,000 group values.
(a) and (b) run in alternating blocks so that both see the same load on a shared machine. Prints logins/s
and p50/p99 latency for each, and the ratio b/a of logins/s. A scratch database is created per run.
(d) the ACS cost of an encrypted assertion: the same whole login over HTTP for a second account with "Want
    encrypted assertions" on (the ~10 KB response encrypted for its SP certificate: AES-256-CBC, RSA-OAEP with
    its RSA-3072 key), interleaved with (b) on the plain account; prints the cost ratio enc/plain (target <= 1.5).
    `--encrypted-only` runs just this case.
`--small-only` runs only (a) against (b) on the ~10 KB response (no 1,000-group case, no (d)).
"""
from __future__ import annotations

import argparse
import base64
import http.client
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import requests  # noqa: E402
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C  # noqa: E402
from onelogin.saml2.response import OneLogin_Saml2_Response  # noqa: E402
from onelogin.saml2.settings import OneLogin_Saml2_Settings  # noqa: E402

from devtools.saml_idp import TestIdp, make_keypair  # noqa: E402
from devtools.harness import DOMAIN, IDP_ISSUER, IDP_SSO_URL, make_portal  # noqa: E402
from devtools.servers import flask, scratch_database  # noqa: E402

USERS = 20
ROUNDS = 10  # (a) and (b) alternate this many times
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


def summary(latencies: list[float]) -> dict:
    """Logins/s (one after another, so the count over the summed time) and p50/p99 latency in ms."""
    ordered = sorted(latencies)
    return {"rate": len(latencies) / sum(latencies), "p50": statistics.median(ordered) * 1000,
            "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000}


def stock_case(portal, groups: list[str]):
    """(a): a function validating one signed response with stock python3-saml, and the response's size."""
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

    def validate() -> None:
        assert OneLogin_Saml2_Response(settings, b64).is_valid(data, request.request_id)
    return validate, len(xml)


def portal_case(portal, groups: list[str], iterations: int):
    """(b): a function posting the next prepared login (a returning user) to the ACS over HTTP.

    Responses are signed and form-encoded beforehand (the IdP's work is not timed) and posted with plain
    http.client on one connection per login, as a browser's cross-site form post would open.
    """
    def prepared(i):
        session = requests.Session()
        form = portal.answer(portal.begin(session), f"user{i % USERS}@acme.test", groups=groups, lifetime=LIFETIME)
        return urlencode(form).encode()

    for i in range(USERS):  # first logins (user and team creation) are not the steady state
        assert post(portal, prepared(i))[0] == 303
    bodies = [prepared(i) for i in range(iterations)]

    def login() -> None:
        status, text = post(portal, bodies.pop())
        assert status == 303, text[:300]
    return login


def post(portal, body: bytes, url: str | None = None) -> tuple[int, bytes]:
    """POST one encoded ACS form on a new connection; (status, body)."""
    parts = urlsplit(url or portal.acs_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        connection.request("POST", parts.path, body=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def interleaved(stock, whole, iterations: int) -> tuple[dict, dict]:
    """Time (a) and (b) in alternating blocks, so both see the same machine (this one is shared and noisy)."""
    times: dict[str, list[float]] = {"a": [], "b": []}
    block = max(1, iterations // ROUNDS)
    done = 0
    while done < iterations:
        size = min(block, iterations - done)
        for key, step in (("a", stock), ("b", whole)):
            for _ in range(size):
                t = time.perf_counter()
                step()
                times[key].append(time.perf_counter() - t)
        done += size
    return summary(times["a"]), summary(times["b"])


def padded_groups(portal) -> list[str]:
    """Okta-like group values so the signed response is about 10 KB."""
    request = portal.begin(requests.Session())
    count = 10
    while len(portal.idp.response(request, "user0@acme.test", sp_metadata=portal.metadata,
                                  groups=okta_groups(count))) < 10_000:
        count += 5
    return okta_groups(count)


ENC_DOMAIN = "acme-enc"


def encrypted_case(portal, groups: list[str], iterations: int):
    """(d): a function posting the next prepared encrypted login to the ACS of an account that wants encryption."""
    flask(portal.env, "accounts", "create", "--name", "Acme encrypted", "--domain", ENC_DOMAIN,
          "--admin-email", "admin@acme-enc.test", "--admin-password", "bench-admin-password")
    flask(portal.env, "sso-config", "set", ENC_DOMAIN, "--idp-login-url", IDP_SSO_URL, "--idp-issuer", IDP_ISSUER,
          "--idp-cert", portal.idp.keypair.cert_path, "--enable", "--auto-create-users", "--auto-create-groups",
          "--want-encrypted-assertions")
    sp_cert = flask(portal.env, "sso-config", "sp-certificate", ENC_DOMAIN).stdout
    base = f"{portal.url}/login/saml/{ENC_DOMAIN}"
    metadata = requests.get(base + "/metadata", timeout=30).text

    def prepared(i):
        session = requests.Session()
        response = session.get(base, allow_redirects=False, timeout=60)
        request = portal.idp.receive(metadata, response.headers["Location"])
        xml = portal.idp.response(request, f"user{i % USERS}@enc.test", sp_metadata=metadata, groups=groups,
                                  lifetime=LIFETIME, encrypt_for=sp_cert)
        return urlencode({"SAMLResponse": base64.b64encode(xml.encode()).decode(),
                          "RelayState": request.relay_state}).encode()

    for i in range(USERS):
        assert post(portal, prepared(i), base + "/callback")[0] == 303
    bodies = [prepared(i) for i in range(iterations)]

    def login() -> None:
        status, text = post(portal, bodies.pop(), base + "/callback")
        assert status == 303, text[:300]
    return login


def run_encrypted(label: str, pg_url: str | None, iterations: int, tmp: Path) -> list[tuple]:
    """(b) plain against (d) encrypted, interleaved on one gunicorn worker."""
    if pg_url:
        os.environ["PORTAL_TEST_DATABASE_URL"] = pg_url
    else:
        os.environ.pop("PORTAL_TEST_DATABASE_URL", None)
    idp = TestIdp(make_keypair(tmp, f"bench-enc-{label}", "Okta bench"), issuer=IDP_ISSUER, sso_url=IDP_SSO_URL)
    with scratch_database(tmp, f"bench_enc_{label}") as database_url:
        portal = make_portal(database_url, idp, tmp, workers=1, threads=1)
        try:
            groups = padded_groups(portal)
            plain = portal_case(portal, groups, iterations)
            encrypted = encrypted_case(portal, groups, iterations)
            b, d = interleaved(plain, encrypted, iterations)
        finally:
            portal.stop()
    return [(label, f"~10 KB response ({len(groups)} groups)", b, d)]


def run(label: str, pg_url: str | None, iterations: int, tmp: Path, small_only: bool = False) -> list[tuple]:
    if pg_url:
        os.environ["PORTAL_TEST_DATABASE_URL"] = pg_url
    else:
        os.environ.pop("PORTAL_TEST_DATABASE_URL", None)
    idp = TestIdp(make_keypair(tmp, f"bench-{label}", "Okta bench"), issuer=IDP_ISSUER, sso_url=IDP_SSO_URL)
    rows = []
    with scratch_database(tmp, f"bench_{label}") as database_url:
        portal = make_portal(database_url, idp, tmp, workers=1, threads=1)
        try:
            cases = [("~10 KB response", padded_groups(portal))]
            if not small_only:
                cases.append(("1,000 groups", okta_groups(1000)))
            for case, groups in cases:
                stock, size = stock_case(portal, groups)
                a, b = interleaved(stock, portal_case(portal, groups, iterations), iterations)
                rows.append((label, f"{case} ({size / 1024:.1f} KiB, {len(groups)} groups)", a, b))
        finally:
            portal.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", default=os.environ.get("PORTAL_BENCH_DATABASE_URL"),
                        help="PostgreSQL server URL to create a scratch database on (also run on PostgreSQL)")
    parser.add_argument("-n", "--iterations", type=int, default=300)
    parser.add_argument("--encrypted-only", action="store_true", help="only (d): encrypted against plain ACS")
    parser.add_argument("--small-only", action="store_true",
                        help="only (a) against (b) on the ~10 KB response (no 1,000 groups, no (d))")
    args = parser.parse_args()
    rows, encrypted = [], []
    with tempfile.TemporaryDirectory() as tmp:
        databases = [("sqlite", None)] + ([("postgresql", args.postgres)] if args.postgres else [])
        for label, url in databases:
            if not args.encrypted_only:
                rows += run(label, url, args.iterations, Path(tmp), small_only=args.small_only)
            if not args.small_only:
                encrypted += run_encrypted(label, url, args.iterations, Path(tmp))
    if encrypted:
        print(f"\n(d) encrypted assertions: {args.iterations} of each, plain (b) and encrypted (d) timed in {ROUNDS} "
              "alternating blocks, one gunicorn worker, one login at a time")
        print(f"{'database':<11} {'case':<32} {'plain /s':>8} {'p50':>6} {'p99':>6}   {'enc /s':>7} {'p50':>6} "
              f"{'p99':>6}   {'cost d/b':>8}")
        for label, case, b, d in encrypted:
            print(f"{label:<11} {case:<32} {b['rate']:8.1f} {b['p50']:6.2f} {b['p99']:6.2f}   {d['rate']:7.1f} "
                  f"{d['p50']:6.2f} {d['p99']:6.2f}   {b['rate'] / d['rate']:8.2f}")
    if not rows:
        return
    print(f"\n{args.iterations} of each, (a) and (b) timed in {ROUNDS} alternating blocks. (a) python3-saml "
          "is_valid alone, one core; (b) the portal's whole login over HTTP, one gunicorn worker, one login at a time")
    print(f"{'database':<11} {'case':<40} {'(a) /s':>7} {'p50':>6} {'p99':>6}   {'(b) /s':>7} {'p50':>6} "
          f"{'p99':>6}   {'b/a':>5}")
    for label, case, a, b in rows:
        print(f"{label:<11} {case:<40} {a['rate']:7.1f} {a['p50']:6.2f} {a['p99']:6.2f}   {b['rate']:7.1f} "
              f"{b['p50']:6.2f} {b['p99']:6.2f}   {b['rate'] / a['rate']:5.2f}")
    print("latencies in ms")


if __name__ == "__main__":
    main()
