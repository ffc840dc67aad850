"""Password login and session benchmark, in process (the Flask test client), production password hashing.

    python bench/login_bench.py                                             # SQLite file in a temporary folder
    python bench/login_bench.py --postgres postgresql://postgres@127.0.0.1/scratch   # PostgreSQL too

Prints (1) the time a wrong-password login takes for a known email, for an unknown email and for an
SSO-only user (no password): an unknown email must not be told apart by its timing; (2) what a signed-in
request costs for its server-side session: the one lookup (session joined with user and account) alone,
and a whole GET of the dashboard. The PostgreSQL database's portal tables are DROPPED and recreated.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from portal import create_app  # noqa: E402
from portal.accounts.service import create_account  # noqa: E402
from portal import sessions  # noqa: E402
from portal.directory.users import create_user  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.permissions import seed_roles  # noqa: E402

PASSWORD = "correct horse battery staple"


def _ms(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples) * 1000, samples[int(len(samples) * 0.95) - 1] * 1000


def run(label: str, database_url: str, n: int) -> None:
    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": database_url, "BASE_URL": "https://portal.bench",
                      "LOGIN_LIMIT_PER_EMAIL": "100000 per minute", "LOGIN_LIMIT_PER_IP": "100000 per minute",
                      "WTF_CSRF_ENABLED": False})
    with app.app_context():
        db.drop_all()
        db.create_all()
        seed_roles()
        account, _admin = create_account("Bench", "bench", "admin@bench.test", PASSWORD)
        create_user(account, "sso-only@bench.test")
        db.session.commit()
    client = app.test_client()

    def timed(email: str, password: str) -> list[float]:
        out = []
        for _ in range(n):
            start = time.perf_counter()
            client.post("/login", data={"email": email, "password": password})
            out.append(time.perf_counter() - start)
        return out

    rows = {"known email, wrong password": timed("admin@bench.test", "wrong password"),
            "unknown email": timed("nobody@bench.test", "wrong password"),
            "SSO-only user (no password)": timed("sso-only@bench.test", "wrong password")}
    base = statistics.median(rows["known email, wrong password"])
    print(f"\n{label}: password login, n={n} each (ms)")
    for name, samples in rows.items():
        p50, p95 = _ms(samples)
        print(f"  {name:<30} p50 {p50:7.1f}  p95 {p95:7.1f}  x{statistics.median(samples) / base:.2f}")

    assert client.post("/login", data={"email": "admin@bench.test", "password": PASSWORD}).status_code == 302
    with client.session_transaction() as cookie:
        token = cookie[sessions.SID]
    with app.test_request_context():
        lookups = []
        for _ in range(n * 20):
            start = time.perf_counter()
            db.session.execute(sessions._LOAD, {"token_hash": sessions.digest(token)}).first()
            lookups.append(time.perf_counter() - start)
            db.session.rollback()
    pages = []
    for _ in range(n * 5):
        start = time.perf_counter()
        response = client.get("/")
        pages.append(time.perf_counter() - start)
        assert response.status_code == 200 and re.search(b"Welcome", response.data)
    lookup, page = _ms(lookups), _ms(pages)
    print(f"{label}: per signed-in request: session lookup p50 {lookup[0] * 1000:.0f} µs (p95 "
          f"{lookup[1] * 1000:.0f} µs); whole dashboard GET p50 {page[0]:.2f} ms (p95 {page[1]:.2f} ms)")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="also run on this scratch PostgreSQL database (tables dropped)")
    parser.add_argument("-n", type=int, default=40, help="logins per case")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", f"sqlite:///{tmp}/bench.sqlite3", args.n)
    if args.postgres:
        run("PostgreSQL", args.postgres, args.n)


if __name__ == "__main__":
    main()
