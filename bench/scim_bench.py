"""SCIM provisioning benchmark: one gunicorn worker on PostgreSQL, Okta-shaped traffic over HTTP.

python bench/scim_bench.py [--postgres postgresql://postgres@127.0.0.1/postgres] [--push 10000] [--users 100000]

Prints: (1) an Okta-style initial push (existence filter, then POST, one at a time, one client), users/s;
(2) GET /Users?filter=userName eq / externalId eq at --users users in the account, p50/p99;
(3) GET /Users?startIndex=...&count=100 across the whole list, the last page included, worst and p50;
(4) one PATCH adding 5,000 members to a group, twice (the worker's RSS before and after each);
(5) GET /Groups/{id} of the 10,000-member group, with and without excludedAttributes=members.
Latencies are measured by the client around each request on a kept-alive connection to 127.0.0.1, so they are
the server's time plus a loopback round trip (an upper bound of server time); "server" figures are the portal's own
time for each request, from its Server-Timing header. It creates its own scratch database.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from devtools.servers import flask, free_port, portal_env, scratch_database, start_gunicorn, stop  # noqa: E402

DOMAIN = "acme"


class Client:
    """One kept-alive HTTP connection with the bearer token."""

    def __init__(self, port: int, token: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
        self.server: list[float] = []  # the server's time of each request (Server-Timing app), seconds
        self.cpu: list[float] = []  # the worker's CPU time of each request (Server-Timing cpu), seconds

    def call(self, method: str, path: str, body=None) -> tuple[int, dict | None, float]:
        data = json.dumps(body) if body is not None else None
        start = time.perf_counter()
        self.conn.request(method, f"/scim/v2/{DOMAIN}{path}", body=data, headers=self.headers)
        response = self.conn.getresponse()
        raw = response.read()
        elapsed = time.perf_counter() - start
        timing = dict(part.strip().split(";dur=") for part in response.getheader("Server-Timing", "").split(","))
        self.server.append(float(timing.get("app", "nan")) / 1000)
        self.cpu.append(float(timing.get("cpu", "nan")) / 1000)
        return response.status, (json.loads(raw) if raw else None), elapsed


def server_ms(client: Client, since: int) -> str:
    """p50 and p99 of the server's own time over the requests made since index `since`."""
    values = sorted(client.server[since:])
    p50 = statistics.median(values) * 1000
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))] * 1000
    return f"server p50 {p50:.2f} ms, p99 {p99:.2f} ms (CPU p50 {statistics.median(client.cpu[since:]) * 1000:.2f} ms)"


def ms(values: list[float]) -> str:
    values = sorted(values)
    p50 = statistics.median(values) * 1000
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))] * 1000
    return f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {values[-1] * 1000:.2f} ms (n={len(values)})"


def okta_user(n: int) -> dict:
    email = f"user{n:06d}@acme.test"
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": email,
            "name": {"givenName": f"Given{n}", "familyName": f"Family{n}"},
            "emails": [{"primary": True, "value": email, "type": "work"}], "displayName": f"Given{n} Family{n}",
            "locale": "en-US", "externalId": f"00u{n:08d}", "groups": [], "active": True}


def rss_kb(master_pid: int) -> int:
    """Resident memory of the (single) gunicorn worker, in KiB."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    for line in Path(f"/proc/{children[0]}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def bulk_users(database_url: str, account_id: int, start: int, end: int) -> None:
    """Fill the account up to `end` users straight in the database (the push above made the first ones)."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1)
                           if database_url.startswith("postgresql://") else database_url)
    with engine.begin() as conn:
        for chunk in range(start, end, 5000):
            rows = [{"account_id": account_id, "email": f"user{n:06d}@acme.test", "name": f"Given{n} Family{n}",
                     "scim_id": uuid.uuid4().hex, "external_id": f"00u{n:08d}", "given_name": f"Given{n}",
                     "family_name": f"Family{n}", "created_via": "scim"}
                    for n in range(chunk, min(end, chunk + 5000))]
            conn.execute(text(
                "INSERT INTO user_account (account_id, email, name, password_hash, active, break_glass, created_via,"
                " created_at, scim_id, external_id, given_name, family_name, updated_at) VALUES (:account_id, :email,"
                " :name, NULL, true, false, :created_via, now(), :scim_id, :external_id, :given_name, :family_name,"
                " now())"), rows)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE user_account"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("PORTAL_TEST_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--push", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("-n", type=int, default=300, help="requests per latency figure")
    args = parser.parse_args()
    os.environ["PORTAL_TEST_DATABASE_URL"] = args.postgres
    tmp = Path(tempfile.mkdtemp(prefix="scim-bench-"))
    with scratch_database(tmp, "scimbench") as database_url:
        port = free_port()
        env = portal_env(database_url, f"http://127.0.0.1:{port}", PORTAL_SCIM_RATE_LIMIT="1000000 per second")
        flask(env, "db", "upgrade")
        flask(env, "accounts", "create", "--name", "Acme", "--domain", DOMAIN, "--admin-email", "admin@acme.test",
              "--admin-password", "bench-admin-password")
        token = flask(env, "scim", "token", "create", DOMAIN, "--name", "Okta").stdout.strip()
        server = start_gunicorn(env, port, tmp / "gunicorn.log", workers=1, threads=1)
        try:
            run(args, database_url, server, Client(port, token))
        finally:
            stop(server)


def run(args, database_url: str, server, client: Client) -> None:
    print(f"SCIM benchmark, one gunicorn worker, PostgreSQL, {time.strftime('%Y-%m-%d')}")
    # (1) Okta's initial push: is the person there? no: create them.
    mark = len(client.server)
    start = time.perf_counter()
    for n in range(args.push):
        user = okta_user(n)
        status, body, _ = client.call("GET", "/Users?filter=" + quote(f'userName eq "{user["userName"]}"')
                                      + "&startIndex=1&count=100")
        assert status == 200 and body["totalResults"] == 0, status
        status, body, _ = client.call("POST", "/Users", user)
        assert status == 201, status
    elapsed = time.perf_counter() - start
    pairs = [a + b for a, b in zip(client.server[mark::2], client.server[mark + 1::2])]
    cpu = [a + b for a, b in zip(client.cpu[mark::2], client.cpu[mark + 1::2])]
    print(f"(1) initial push of {args.push:,} users (filter + POST each): {args.push / elapsed:.1f} users/s "
          f"({elapsed:.1f} s; target >= 150); server time per user p50 {statistics.median(pairs) * 1000:.2f} ms "
          f"(mean {statistics.mean(pairs) * 1000:.2f} ms: {1 / statistics.mean(pairs):.0f} users/s of server time; "
          f"worker CPU per user p50 {statistics.median(cpu) * 1000:.2f} ms)")

    engine = create_engine(database_url)
    with engine.connect() as conn:
        account_id = conn.execute(text("SELECT id FROM account WHERE domain = :d"), {"d": DOMAIN}).scalar()
    engine.dispose()
    bulk_users(database_url, account_id, args.push, args.users)

    # (2) lookups at args.users users
    step = max(1, args.users // args.n)
    for label, attr, value in (("userName", "userName", lambda n: f"user{n:06d}@acme.test"),
                               ("externalId", "externalId", lambda n: f"00u{n:08d}")):
        times, mark = [], len(client.server)
        for n in range(0, args.users, step):
            status, body, t = client.call("GET", "/Users?filter=" + quote(f'{attr} eq "{value(n)}"'))
            assert status == 200 and body["totalResults"] == 1, status
            times.append(t)
        print(f"(2) GET /Users?filter={label} eq \"…\" at {args.users:,} users: {ms(times)}; "
              f"{server_ms(client, mark)} (target p50 < 5 ms)")

    # (3) paging
    times, last, mark = [], None, len(client.server)
    pages = list(range(1, args.users + 1, max(100, (args.users // 100) // 100 * 100)))
    pages.append(args.users + 1 - 99)  # the last page (the account's admin is a user too)
    for start_index in pages:
        status, body, t = client.call("GET", f"/Users?startIndex={start_index}&count=100")
        assert status == 200 and body["totalResults"] == args.users + 1 and body["itemsPerPage"] == 100, status
        times.append(t)
        last = t
    print(f"(3) GET /Users?startIndex=…&count=100, {len(pages)} pages across {args.users:,}: {ms(times)}; "
          f"last page {last * 1000:.2f} ms; {server_ms(client, mark)}, "
          f"worst {max(client.server[mark:]) * 1000:.2f} ms, last page {client.server[-1] * 1000:.2f} ms "
          f"(target < 50 ms each)")

    # (4) one PATCH adding 5,000 members, twice
    status, group, _ = client.call("POST", "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                                      "displayName": "Everyone"})
    assert status == 201, status
    engine = create_engine(database_url)
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT scim_id FROM user_account WHERE account_id = :a ORDER BY id"
                                               " LIMIT 10000"), {"a": account_id})]
    engine.dispose()
    for batch in (ids[:5000], ids[5000:10000]):
        before = rss_kb(server.pid)
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": v} for v in batch]}]}
        status, answer, t = client.call("PATCH", f"/Groups/{group['id']}", body)
        assert status == 204, status
        print(f"(4) PATCH adding 5,000 members ({len(json.dumps(body)) // 1024} KiB body): {t * 1000:.0f} ms "
              f"(server {client.server[-1] * 1000:.0f} ms, CPU {client.cpu[-1] * 1000:.0f} ms) "
              f"(target < 2 s); worker RSS {before // 1024} -> {rss_kb(server.pid) // 1024} MiB")

    # (5) a 10,000-member group
    mark = len(client.server)
    full = [client.call("GET", f"/Groups/{group['id']}") for _ in range(20)]
    full_server = server_ms(client, mark)
    mark = len(client.server)
    assert all(s == 200 and len(b["members"]) == len(ids) for s, b, _ in full)  # 10,000 unless --users is less
    bare = [client.call("GET", f"/Groups/{group['id']}?excludedAttributes=members") for _ in range(args.n)]
    print(f"(5) GET /Groups/{{id}}, {len(ids):,} members: {ms([t for *_, t in full])}; {full_server} (target < 200 ms)")
    print(f"    with excludedAttributes=members: {ms([t for *_, t in bare])}; {server_ms(client, mark)}")


if __name__ == "__main__":
    main()
