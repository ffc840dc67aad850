"""Audit log benchmark: 1,000,000 events across 100 accounts, then page and export timings.

    python bench/audit_bench.py                      # SQLite file in a temporary folder
    python bench/audit_bench.py postgresql://postgres@127.0.0.1/scratch   # or PORTAL_BENCH_DATABASE_URL

The database's portal tables are DROPPED and recreated: point it at a scratch database only.
Options: --events N (default 1,000,000), --accounts N (default 100), --keep (reuse existing data).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import func, select, text  # noqa: E402

from portal import create_app  # noqa: E402
from portal.audit import log as audit_log  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Account, AuditEvent, utcnow  # noqa: E402

BIG_SHARE = 0.2  # the large account gets a fifth of all events
TYPES = [("login.password", 40), ("login.saml", 30), ("user.created", 5), ("user.deactivated", 2),
         ("team.member_added", 8), ("sso.config.updated", 1), ("role.granted", 3), ("audit.exported", 1),
         ("account.created", 0.01), ("user.reactivated", 1), ("team.created", 4), ("sso.certificate.added", 0.5)]
REASONS = ["wrong_password", "audience_mismatch", "signature_invalid", "unknown_user", "expired"]
COLUMNS = ("account_id", "time", "event_type", "outcome", "reason", "actor_id", "actor_email", "subject", "ip",
           "user_agent", "details")


def rows(n_events: int, account_ids: list[int], start: datetime, span: timedelta, seed: int = 7):
    """Event tuples in id order, times rising over span, the first account taking BIG_SHARE."""
    rnd = random.Random(seed)
    big, others = account_ids[0], account_ids[1:]
    names, weights = zip(*TYPES)
    step = span / n_events
    for i in range(n_events):
        account_id = big if rnd.random() < BIG_SHARE else rnd.choice(others)
        event_type = rnd.choices(names, weights)[0]
        r = rnd.random()
        outcome = "success" if r < 0.85 else "failure" if r < 0.97 else "warning"
        user = f"user{rnd.randrange(50)}@a{account_id}.test"
        subject = f"user{rnd.randrange(50)}@a{account_id}.test" if rnd.random() < 0.7 else f"team-{rnd.randrange(20)}"
        details = json.dumps({"n": i, "via": "bench"} if outcome == "success" else
                             {"n": i, "audience": f"https://portal.test/login/saml/a{account_id}-old",
                              "reference": f"SSO-{i:08d}"})
        yield (account_id, start + step * i, event_type, outcome,
               rnd.choice(REASONS) if outcome == "failure" else "", None, user, subject,
               f"10.0.{rnd.randrange(256)}.{rnd.randrange(256)}", "Mozilla/5.0 bench", details)


def fill(n_events: int, n_accounts: int) -> None:
    """Recreate the schema and bulk-load accounts and events (COPY on PostgreSQL, executemany on SQLite)."""
    db.drop_all()
    db.create_all()
    now = utcnow().replace(microsecond=0)
    db.session.execute(Account.__table__.insert(), [
        {"name": f"Account {i}", "domain": f"bench-{i:03d}", "created_at": now} for i in range(n_accounts)])
    db.session.commit()
    account_ids = list(db.session.scalars(select(Account.id).order_by(Account.id)))
    data = rows(n_events, account_ids, now - timedelta(days=365), timedelta(days=365))
    conn = db.session.connection()
    raw = conn.connection.driver_connection
    if db.engine.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY audit_event ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in data:
                copy.write_row(row)
    else:
        sql = f"INSERT INTO audit_event ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        cur = raw.cursor()
        batch = []
        for row in data:
            batch.append(row[:1] + (row[1].isoformat(sep=" "),) + row[2:])
            if len(batch) == 50_000:
                cur.executemany(sql, batch)
                batch.clear()
        cur.executemany(sql, batch)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE audit_event"))  # what autovacuum does after a bulk load
        db.session.commit()


def timed(fn, repeat: int = 7) -> tuple[float, float]:
    """(first, median of the rest) in milliseconds."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return times[0], statistics.median(times[1:])


class Sink:
    """Counts what an export writes, keeping nothing."""

    def __init__(self):
        self.bytes = 0

    def write(self, chunk: str) -> None:
        self.bytes += len(chunk)


def export(account: Account, fmt: str = "csv") -> tuple[float, int, float]:
    """(seconds untraced, bytes, peak MiB traced by tracemalloc in a second run) of one full export."""
    gen = audit_log.export_csv if fmt == "csv" else audit_log.export_json
    runs = []
    for traced in (False, True):
        sink = Sink()
        db.session.expire_all()
        if traced:
            tracemalloc.start()  # slows the run several times, hence the separate timing run
        t = time.perf_counter()
        for chunk in gen(account, audit_log.AuditFilters()):
            sink.write(chunk)
        runs.append(time.perf_counter() - t)
        if traced:
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    return runs[0], sink.bytes, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default=os.environ.get("PORTAL_BENCH_DATABASE_URL"))
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="reuse the data already loaded")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{os.path.join(tempfile.mkdtemp(prefix='audit-bench-'), 'bench.sqlite3')}"
    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": url, "BASE_URL": "https://portal.test"})
    with app.app_context():
        print(f"database: {db.engine.dialect.name} ({db.engine.url.render_as_string(hide_password=True)})")
        if not args.keep:
            t = time.perf_counter()
            fill(args.events, args.accounts)
            print(f"loaded {args.events:,} events into {args.accounts} accounts in {time.perf_counter() - t:.1f} s")
        counts = dict(db.session.execute(select(AuditEvent.account_id, func.count()).group_by(AuditEvent.account_id)).all())
        big = db.session.get(Account, max(counts, key=counts.get))
        small = db.session.get(Account, min(counts, key=counts.get))
        print(f"large account {big.domain}: {counts[big.id]:,} events; small {small.domain}: {counts[small.id]:,}")
        f = audit_log.AuditFilters
        deep_id = db.session.scalar(select(AuditEvent.id).where(AuditEvent.account_id == big.id)
                                    .order_by(AuditEvent.id).offset(100).limit(1))
        user = f"user7@a{big.id}.test"
        # an old failure of the large account's that a person quotes: its reference
        quoted = db.session.scalar(select(AuditEvent.details).where(AuditEvent.account_id == big.id,
                                                                    AuditEvent.outcome == "failure")
                                   .order_by(AuditEvent.id).offset(1000).limit(1))["reference"]
        mid = (utcnow() - timedelta(days=180)).date()
        cases = [
            ("first page (large account)", lambda: audit_log.page(big, f())),
            (f"deep page (before id {deep_id}, ~{counts[big.id] - 100:,} events down)",
             lambda: audit_log.page(big, f(), before=deep_id)),
            ("first page (small account)", lambda: audit_log.page(small, f())),
            ("filter type=sso.config.updated (1%)", lambda: audit_log.page(big, f(event_type="sso.config.updated"))),
            ("filter outcome=warning", lambda: audit_log.page(big, f(outcome="warning"))),
            ("filter type+outcome (rare pair)",
             lambda: audit_log.page(big, f(event_type="sso.certificate.added", outcome="failure"))),
            (f"filter email={user} (actor or subject)", lambda: audit_log.page(big, f(email=user))),
            ("filter one week, 6 months ago", lambda: audit_log.page(big, f(since=mid, until=mid + timedelta(days=6)))),
            ("filter one day, 11 months ago", lambda: audit_log.page(
                big, f(since=date.today() - timedelta(days=335), until=date.today() - timedelta(days=335)))),
            ("filter everything up to 6 months ago (worst case)", lambda: audit_log.page(big, f(until=mid))),
            ("filter email + outcome=failure", lambda: audit_log.page(big, f(email=user, outcome="failure"))),
            (f"filter reference={quoted} (a year-old failure)", lambda: audit_log.page(big, f(reference=quoted))),
            ("event types (filter suggestions)", lambda: audit_log.event_types(big)),
        ]
        print(f"{'query':58} {'first ms':>9} {'median ms':>10}  rows")
        for name, fn in cases:
            first, median = timed(fn)
            result = fn()
            n = len(result.events) if hasattr(result, "events") else len(result)
            print(f"{name:58} {first:9.1f} {median:10.1f}  {n}")
        for account in (small, big):
            seconds, size, peak = export(account)
            print(f"CSV export {account.domain}: {counts[account.id]:,} events, {size / 2**20:.1f} MiB in "
                  f"{seconds:.1f} s, peak traced memory {peak:.1f} MiB")
        seconds, size, peak = export(big, "json")
        print(f"JSON export {big.domain}: {counts[big.id]:,} events, {size / 2**20:.1f} MiB in {seconds:.1f} s, "
              f"peak traced memory {peak:.1f} MiB")


if __name__ == "__main__":
    main()
