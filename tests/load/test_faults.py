"""Faults: the database going away during logins, and hostile ACS bodies at volume."""
from __future__ import annotations

import base64
import os
import random
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from devtools.harness import make_portal, rss_kib
from tests.load.proxy import Forwarder

pytestmark = pytest.mark.load

# The outage test always runs on PostgreSQL (CI has it on 127.0.0.1:5432, also in the SQLite run):
# cutting a network connection is what "the database is unreachable" means in production.
PG_ADMIN_URL = os.environ.get("PORTAL_TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def pg_database():
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg")
    name = f"portal_outage_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def outage_portal(pg_database, load_idp, tmp_path):
    """gunicorn (2 workers) reaching PostgreSQL only through a forwarder the test can cut."""
    forwarder = Forwarder((pg_database.host or "127.0.0.1", pg_database.port or 5432))
    proxied = pg_database.set(host="127.0.0.1", port=forwarder.port).render_as_string(hide_password=False)
    direct = pg_database.render_as_string(hide_password=False)
    server = make_portal(direct, load_idp, tmp_path, workers=2, database_url_for_portal=proxied)
    try:
        yield server, forwarder
    finally:
        server.stop()
        forwarder.close()


def test_database_unreachable_during_login_gives_503_then_recovers(outage_portal):
    portal, forwarder = outage_portal
    assert portal.login("before@acme.test", groups=["Outage"]).status_code == 303
    count = portal.scalar
    seen = count("SELECT count(*) FROM seen_assertion")
    audit = count("SELECT count(*) FROM audit_event")
    session = requests.Session()
    request = portal.begin(session)
    form = portal.answer(request, "during@acme.test", groups=["Outage", "Blackout"])

    forwarder.cut()
    for _ in range(6):  # enough posts to reach both workers
        response = portal.post(session, form)
        assert response.status_code == 503
        assert "try again" in response.text and "Traceback" not in response.text
    assert requests.get(f"{portal.url}/login/saml/acme", allow_redirects=False, timeout=30).status_code == 503

    # Nothing half-written: no user, team, replay entry or event; the AuthnRequest is still pending.
    assert count("SELECT count(*) FROM user_account WHERE email = 'during@acme.test'") == 0
    assert count("SELECT count(*) FROM team WHERE name_key = 'blackout'") == 0
    assert count("SELECT count(*) FROM seen_assertion") == seen
    assert count("SELECT count(*) FROM audit_event") == audit
    assert count("SELECT count(*) FROM pending_authn_request WHERE request_id = :id", id=request.request_id) == 1

    forwarder.restore()  # same gunicorn, no restart
    assert portal.post(session, form).status_code == 303  # the user's retry goes through
    for i in range(4):
        assert portal.login(f"after{i}@acme.test", groups=["Blackout"]).status_code == 303
    assert count("SELECT count(*) FROM user_account WHERE email = 'during@acme.test'") == 1
    assert count("SELECT count(*) FROM team WHERE name_key = 'blackout'") == 1
    assert count("SELECT count(*) FROM audit_event WHERE event_type = 'sso.login' AND outcome = 'success'") == 6


def test_database_connections_terminated_between_logins_recover(outage_portal, pg_database):
    portal, _ = outage_portal
    for i in range(4):
        assert portal.login(f"warm{i}@acme.test").status_code == 303
    admin = create_engine(make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # what a PostgreSQL restart or failover does to pooled connections
        killed = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                   "WHERE datname = :db AND pid <> pg_backend_pid()"),
                              {"db": pg_database.database}).scalar()
    admin.dispose()
    assert killed >= 1
    for i in range(4):
        assert portal.login(f"again{i}@acme.test").status_code == 303


def _hostile_bodies(rnd: random.Random) -> list[tuple[str, dict]]:
    """(kind, requests keyword arguments) for one round of hostile posts."""
    b64 = (lambda raw: base64.b64encode(raw).decode())
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i else "")) * 10}">' for i in range(1, 10))
              + ']><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&lol9;</samlp:Response>')
    xxe = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&x;</samlp:Response>')
    deep = "<a>" * 40_000 + "</a>" * 40_000
    form = "application/x-www-form-urlencoded"
    return [
        ("random body", {"data": rnd.randbytes(4096), "headers": {"Content-Type": form}}),
        ("random xml bytes", {"data": {"SAMLResponse": b64(rnd.randbytes(8192))}}),
        ("bad base64", {"data": {"SAMLResponse": "PHNhbWxwOl!!!" + "x" * 1001}}),
        ("empty", {"data": {"SAMLResponse": ""}}),
        ("deep xml", {"data": {"SAMLResponse": b64(deep.encode())}}),
        ("billion laughs", {"data": {"SAMLResponse": b64(laughs.encode())}}),
        ("external entity", {"data": {"SAMLResponse": b64(xxe.encode())}}),
        ("wrong root", {"data": {"SAMLResponse": b64(b"<EntityDescriptor>" * 2000)}}),
        ("over the cap", {"data": {"SAMLResponse": "A" * 400_000}}),
        ("huge", {"data": b"SAMLResponse=" + b"A" * 3_000_000, "headers": {"Content-Type": form}}),
        ("huge chunked", {"data": iter([b"SAMLResponse="] + [b"A" * 65536] * 16), "headers": {"Content-Type": form}}),
        ("many fields", {"data": "&".join(f"f{i}=v" for i in range(20_000)), "headers": {"Content-Type": form}}),
    ]


def test_hostile_acs_bodies_at_volume_are_refused_without_crash_or_memory_growth(portal):
    rnd = random.Random(11)
    failures = "SELECT count(*) FROM audit_event WHERE event_type = 'sso.login' AND outcome = 'failure'"

    def attack(item):
        kind, kwargs = item
        response = requests.post(portal.acs_url, allow_redirects=False, timeout=120, **kwargs)
        return kind, response.status_code, "Traceback" in response.text

    def rounds(n):
        items = [item for _ in range(n) for item in _hostile_bodies(rnd)]
        with ThreadPoolExecutor(12) as pool:
            return list(pool.map(attack, items))

    rounds(1)  # warm-up: lazily loaded code and first allocations are not growth
    pids = portal.worker_pids()
    assert len(pids) == 2
    rss_before = {pid: rss_kib(pid) for pid in pids}
    audited_before = portal.scalar(failures)
    results = rounds(20)  # 240 hostile posts from 12 concurrent clients
    assert portal.worker_pids() == pids, "a worker died and was replaced"
    growth = {pid: rss_kib(pid) - rss_before[pid] for pid in pids}
    assert all(g < 64 * 1024 for g in growth.values()), growth  # KiB
    assert all(rss_kib(pid) < 400 * 1024 for pid in pids)
    assert [kind for kind, _status, traceback in results if traceback] == []
    statuses: dict[str, set[int]] = {}
    for kind, status, _ in results:
        statuses.setdefault(kind, set()).add(status)
    too_large = {"deep xml", "over the cap", "huge"}  # Content-Length over SAML_MAX_RESPONSE_BYTES: 413
    # A chunked body has no Content-Length: Werkzeug stops reading at the cap, and what was read (a cut-off
    # SAMLResponse) is refused as malformed. Everything else is unreadable or not a SAML Response: 400.
    assert statuses == {kind: {413 if kind in too_large else 400} for kind, _ in _hostile_bodies(rnd)}
    # Unsigned refusals are stored one by one up to 20 a minute per account (per worker: each counts in its own
    # memory), and counted in one sso.login_failures_counted event per minute past that: a flood cannot bury
    # real failures, and the log does not grow with it.
    stored = portal.scalar(failures) - audited_before
    assert 0 < stored <= 2 * 2 * 20 < len(results)  # two workers, at most two minute windows
    counted = portal.scalar("SELECT count(*) FROM audit_event WHERE event_type = 'sso.login_failures_counted'")
    assert 1 <= counted <= 2 * 2
    assert portal.login("after.attack@acme.test").status_code == 303
