"""Audit log queries: filters, keyset pages newest first, streaming CSV/JSON export, prune."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, delete, func, select, text, tuple_, union_all

from portal.errors import ServiceError
from portal.extensions import db
from portal.models import Account, AuditEvent, normalise_email, utcnow
from portal.models import iso as models_iso
from portal.models.audit import OUTCOMES, REFERENCE

PAGE_SIZE = 50
EXPORT_BATCH = 1000
PRUNE_BATCH = 5000
# Walking ids tests each skipped event's time in ix_audit_event_account_id_time; reading a date range
# visits every event in it and sorts them: measured several times dearer per event (bench/audit_bench.py).
RANGE_ROW_COST = 4
EXPORT_FIELDS = ("id", "time", "type", "outcome", "reason", "actor", "subject", "ip", "user_agent", "details")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# Plain columns, not ORM objects: pages and exports never fill the session's identity map.
_COLUMNS = (AuditEvent.id, AuditEvent.time, AuditEvent.event_type, AuditEvent.outcome, AuditEvent.reason,
            AuditEvent.actor_email, AuditEvent.subject, AuditEvent.ip, AuditEvent.user_agent, AuditEvent.details)


@dataclass(frozen=True)
class AuditFilters:
    """What the admin asked to see; every field optional. until is inclusive (a whole UTC day)."""

    event_type: str = ""
    outcome: str = ""
    email: str = ""
    since: date | None = None
    until: date | None = None
    reference: str = ""  # an SSO failure's or Test SSO run's code, kept in details["reference"]

    def as_args(self) -> dict:
        """The filters as URL query arguments (empty ones left out)."""
        args = {"type": self.event_type, "outcome": self.outcome, "email": self.email, "reference": self.reference,
                "since": self.since.isoformat() if self.since else "",
                "until": self.until.isoformat() if self.until else ""}
        return {k: v for k, v in args.items() if v}


@dataclass
class Page:
    events: list[dict]
    older: int | None  # cursor (an id) for the next, older page
    newer: int | None  # cursor (an id) for the previous, newer page


def parse_date(value: str | None, name: str = "date") -> date | None:
    """A YYYY-MM-DD UTC date, None when empty, else ServiceError."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ServiceError(f"The {name} '{value}' is not a date; use YYYY-MM-DD (UTC).") from None


def make_filters(event_type: str = "", outcome: str = "", email: str = "", since: date | None = None,
                 until: date | None = None, reference: str = "") -> AuditFilters:
    """Normalised filters, or ServiceError naming the wrong one."""
    outcome = (outcome or "").strip().lower()
    if outcome and outcome not in OUTCOMES:
        raise ServiceError(f"Unknown outcome '{outcome}'; use one of: {', '.join(OUTCOMES)}.")
    if since and until and until < since:
        raise ServiceError("The end date is before the start date.")
    return AuditFilters((event_type or "").strip(), outcome, normalise_email(email), since, until,
                        (reference or "").strip().upper())


def _bounds(filters: AuditFilters) -> tuple[datetime | None, datetime | None]:
    since = datetime.combine(filters.since, time.min) if filters.since else None
    # the last day there is (9999-12-31) has no day after it: no upper bound then
    until = datetime.combine(filters.until + timedelta(days=1), time.min) \
        if filters.until and filters.until < date.max else None
    return since, until


def _conditions(account_id: int, filters: AuditFilters, time_column=AuditEvent.time) -> list:
    # account_id first in every query: another account's events are never reachable.
    conds = [AuditEvent.account_id == account_id]
    if filters.event_type:
        conds.append(AuditEvent.event_type == filters.event_type)
    if filters.outcome:
        conds.append(AuditEvent.outcome == filters.outcome)
    if filters.reference:
        conds.append(REFERENCE == filters.reference)
    since, until = _bounds(filters)
    if since:
        conds.append(time_column >= since)
    if until:
        conds.append(time_column < until)
    return conds


def _probe(account_id: int, *conds, order) -> int | None:
    return db.session.scalar(select(AuditEvent.id).where(AuditEvent.account_id == account_id, *conds)
                             .order_by(order).limit(1))


def _scan_by_time(account_id: int, filters: AuditFilters, before: int | None) -> bool:
    """For a date range, whether reading the range (then sorting) beats walking ids down to it.

    Both plans return exactly the same rows; these index probes only estimate which is cheaper
    (ids rise with time), because neither SQLite nor PostgreSQL reliably picks well on its own.
    """
    since, until = _bounds(filters)
    newest = before if before is not None else _probe(account_id, order=AuditEvent.id.desc())
    if newest is None:
        return False
    top = newest if until is None else _probe(account_id, AuditEvent.time < until, order=AuditEvent.time.desc())
    bottom = 0 if since is None else _probe(account_id, AuditEvent.time >= since, order=AuditEvent.time.asc())
    if top is None or bottom is None:  # nothing in range: either plan is cheap
        return True
    return (min(top, newest) - bottom) * RANGE_ROW_COST < newest - top


def _query(account_id: int, filters: AuditFilters, before: int | None, after: int | None,
           limit: int, upto: int | None = None) -> Select:
    """Keyset query: ids below before (newest first) or above after (oldest first), at most limit."""
    dated = bool(filters.since or filters.until)
    by_time = dated and not filters.email and after is None \
        and _scan_by_time(account_id, filters, before if upto is None or before is not None else upto + 1)
    if dated and not filters.email and not by_time:
        return _walk_ids(account_id, filters, before, after, limit, upto)
    # id + 0 (a range read by time) and coalesce(time) (an email page with dates) steer the planner to
    # the chosen index without changing the result.
    key = AuditEvent.id + 0 if by_time else AuditEvent.id
    conds = _conditions(account_id, filters,
                        AuditEvent.time if by_time or not dated else func.coalesce(AuditEvent.time, AuditEvent.time))
    if before is not None:
        conds.append(AuditEvent.id < before)
    if after is not None:
        conds.append(AuditEvent.id > after)
    if upto is not None:
        conds.append(AuditEvent.id <= upto)
    order = key.asc() if after is not None else key.desc()
    if filters.email:
        # actor OR subject as two index-ordered branches, each limited, instead of one OR that
        # would have to sort every event of a busy user before taking a page.
        branches = [select(AuditEvent.id).where(*conds, column == filters.email).order_by(order).limit(limit)
                    .subquery() for column in (AuditEvent.actor_email, AuditEvent.subject)]
        ids = union_all(*(select(b.c.id) for b in branches))
        return select(*_COLUMNS).where(AuditEvent.id.in_(ids)).order_by(order).limit(limit)
    if by_time:
        # The page's ids first (SQLite: from index entries alone), then only those rows.
        ids = select(AuditEvent.id).where(*conds).order_by(order).limit(limit).subquery()
        return select(*_COLUMNS).where(AuditEvent.id.in_(select(ids.c.id))).order_by(order).limit(limit)
    return select(*_COLUMNS).where(*conds).order_by(order).limit(limit)


def _walk_ids(account_id: int, filters: AuditFilters, before: int | None, after: int | None,
              limit: int, upto: int | None) -> Select:
    """Date-range keyset query walking ids, each event's time tested in ix_audit_event_account_id_time.

    Skipped events cost an index entry each, never a table row. The account as a one-value range, the
    cursor as a (account_id, id) row value and ORDER BY account_id, id leave that index the only one that
    gives the order and seeks straight to the cursor (PostgreSQL otherwise walks the primary key through
    every account's events); the account bound is as strict as the equality in _conditions.
    """
    conds = [AuditEvent.account_id.between(account_id, account_id), *_conditions(account_id, filters)[1:]]
    key = tuple_(AuditEvent.account_id, AuditEvent.id)
    if before is not None:
        conds.append(key < tuple_(account_id, before))
    if after is not None:
        conds.append(key > tuple_(account_id, after))
    if upto is not None:
        conds.append(AuditEvent.id <= upto)
    order = [AuditEvent.account_id.asc(), AuditEvent.id.asc()] if after is not None \
        else [AuditEvent.account_id.desc(), AuditEvent.id.desc()]
    ids = select(AuditEvent.id).where(*conds).order_by(*order).limit(limit).subquery()
    return select(*_COLUMNS).where(AuditEvent.id.in_(select(ids.c.id))).order_by(order[1]).limit(limit)


def page(account: Account, filters: AuditFilters, before: int | None = None, after: int | None = None,
         size: int = PAGE_SIZE) -> Page:
    """One page of account's events, newest first, before or after an id cursor."""
    rows = [as_dict(r) for r in db.session.execute(_query(account.id, filters, before, after, size + 1))]
    more = len(rows) > size
    rows = rows[:size]
    if after is not None:
        if not more:  # reached the newest events: show a full first page instead of a short one
            return page(account, filters, size=size)
        rows.reverse()
        return Page(rows, rows[-1]["id"], rows[0]["id"])
    older = rows[-1]["id"] if more else None
    newer = rows[0]["id"] if before is not None and rows else None
    return Page(rows, older, newer)


def latest_id(account: Account) -> int | None:
    """The newest event id of account: an export snapshot bound."""
    return db.session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.account_id == account.id))


def iter_events(account: Account, filters: AuditFilters, upto: int | None = None,
                batch: int | None = None) -> Iterator[list[dict]]:
    """Batches of matching events, newest first, by id keyset: memory stays flat however many there are."""
    batch = batch or EXPORT_BATCH
    before = None
    while True:
        rows = [as_dict(r) for r in db.session.execute(_query(account.id, filters, before, None, batch, upto))]
        if not rows:
            return
        yield rows
        if len(rows) < batch:
            return
        before = rows[-1]["id"]


def iso(value: datetime | None) -> str:
    """ISO 8601 UTC with Z, "" when there is no time (export cells are never null)."""
    return models_iso(value) or ""


def as_dict(row) -> dict:
    """An event row as the export/JSON object."""
    return {"id": row.id, "time": iso(row.time), "type": row.event_type, "outcome": row.outcome,
            "reason": row.reason or "", "actor": row.actor_email or "", "subject": row.subject or "",
            "ip": row.ip or "", "user_agent": row.user_agent or "", "details": row.details or {}}


def compact_json(value) -> str:
    """Details as one short JSON line."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str)


def csv_safe(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    value = "" if value is None else str(value)
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def export_csv(account: Account, filters: AuditFilters, upto: int | None = None) -> Iterator[str]:
    """The matching events as CSV text chunks (header first), one chunk per batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_FIELDS)
    yield buffer.getvalue()
    for rows in iter_events(account, filters, upto):
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            row["details"] = compact_json(row["details"])
            writer.writerow([csv_safe(row[f]) for f in EXPORT_FIELDS])
        yield buffer.getvalue()


def export_json(account: Account, filters: AuditFilters, upto: int | None = None) -> Iterator[str]:
    """The matching events as one JSON array, streamed in chunks."""
    yield "["
    separator = "\n"
    for rows in iter_events(account, filters, upto):
        parts = []
        for row in rows:
            parts.append(separator + json.dumps(row, ensure_ascii=False, default=str))
            separator = ",\n"
        yield "".join(parts)
    yield "\n]\n"


def event_types(account: Account) -> list[str]:
    """The distinct event types of account, by a loose index scan (one index probe per type)."""
    sql = text("""
        WITH RECURSIVE t(event_type) AS (
            SELECT MIN(event_type) FROM audit_event WHERE account_id = :a
            UNION ALL
            SELECT (SELECT MIN(event_type) FROM audit_event WHERE account_id = :a AND event_type > t.event_type)
            FROM t WHERE t.event_type IS NOT NULL)
        SELECT event_type FROM t WHERE event_type IS NOT NULL""")
    return [r[0] for r in db.session.execute(sql, {"a": account.id})]


def prune_cutoff(days: int, now: datetime | None = None) -> datetime:
    """The time before which events are older than days (at most a century: dates end at year 9999)."""
    return (now or utcnow()) - timedelta(days=min(days, 36_500))


def prune_batch(cutoff: datetime, batch: int | None = None) -> int:
    """Delete up to batch events older than cutoff (every account); the caller commits. Returns the count."""
    batch = batch or PRUNE_BATCH
    # Small batches keep each transaction and its locks short on a large table.
    ids = select(AuditEvent.id).where(AuditEvent.time < cutoff).order_by(AuditEvent.id).limit(batch)
    ids = [r[0] for r in db.session.execute(ids)]
    if not ids:
        return 0
    db.session.execute(delete(AuditEvent).where(AuditEvent.id.in_(ids)), execution_options={
        "synchronize_session": False})
    return len(ids)
