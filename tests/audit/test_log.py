"""The audit log service: filters, keyset pages, streaming exports, prune."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest

from portal.audit import log as audit_log
from portal.audit.log import AuditFilters, make_filters
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import AuditEvent
from tests.admin.helpers import add_event

T0 = datetime(2026, 3, 10, 12, 0, 0)


def ids(page) -> list[int]:
    return [e["id"] for e in page.events]


def test_filters_by_type_outcome_email_and_dates(account, other_account, admin, member):
    login_ok = add_event(account, "login.password", actor=admin, subject=admin.email, at=T0)
    login_bad = add_event(account, "login.password", outcome="failure", reason="wrong_password", actor=member,
                          subject=member.email, at=T0 + timedelta(days=1))
    about_member = add_event(account, "user.deactivated", actor=admin, subject=member.email,
                             at=T0 + timedelta(days=2, hours=11, minutes=59))  # 23:59 UTC
    add_event(other_account, "login.password", outcome="failure", subject=member.email, at=T0)

    def found(**kw):
        return set(ids(audit_log.page(account, make_filters(**kw)))) & {login_ok.id, login_bad.id, about_member.id}

    assert found(event_type="login.password") == {login_ok.id, login_bad.id}
    assert found(outcome="failure") == {login_bad.id}
    assert found(email=" Member@ACME.test ") == {login_bad.id, about_member.id}  # actor or subject
    assert found(email=admin.email) == {login_ok.id, about_member.id}
    assert found(since=date(2026, 3, 11)) == {login_bad.id, about_member.id}
    assert found(until=date(2026, 3, 11)) == {login_ok.id, login_bad.id}
    assert found(since=date(2026, 3, 12), until=date(2026, 3, 12)) == {about_member.id}  # until is a whole day
    assert found(event_type="login.password", outcome="success", email=admin.email) == {login_ok.id}


def test_make_filters_refuses_bad_input():
    with pytest.raises(ServiceError, match="Unknown outcome"):
        make_filters(outcome="maybe")
    with pytest.raises(ServiceError, match="before the start date"):
        make_filters(since=date(2026, 2, 2), until=date(2026, 2, 1))
    with pytest.raises(ServiceError, match="YYYY-MM-DD"):
        audit_log.parse_date("31/12/2026")
    assert audit_log.parse_date(" 2026-12-31 ") == date(2026, 12, 31)
    assert audit_log.parse_date("") is None


@pytest.mark.parametrize("kw", [{}, {"email": "pat@acme.test"}, {"event_type": "test.event"}])
def test_pages_have_no_duplicates_or_gaps_while_new_events_arrive(account, other_account, kw):
    pat = SimpleNamespace(id=None, email="pat@acme.test")
    for i in range(23):
        add_event(account, "test.event" if i % 3 else "test.other", actor=pat if i % 2 else None,
                  subject="pat@acme.test" if i % 4 == 0 else "", n=i)
    add_event(other_account, subject="pat@acme.test")
    everything = db.session.scalars(db.select(AuditEvent).where(AuditEvent.account_id == account.id)).all()
    expected = sorted((e.id for e in everything
                       if e.event_type == kw.get("event_type", e.event_type)
                       and kw.get("email", "") in ("", e.actor_email, e.subject)), reverse=True)
    seen, before, pages = [], None, 0
    while True:
        page = audit_log.page(account, make_filters(**kw), before=before, size=5)
        seen += ids(page)
        pages += 1
        # New matching events between two page loads must not shift or repeat what the next page shows.
        add_event(account, "test.event", actor=pat, subject="pat@acme.test", n=f"new{pages}")
        if page.older is None:
            break
        before = page.older
    assert len(expected) > 10
    assert seen == expected
    assert pages == -(-len(expected) // 5)


def test_newer_cursor_returns_the_previous_page(account):
    events = [add_event(account, n=i).id for i in range(12)]
    first = audit_log.page(account, AuditFilters(), size=5)
    second = audit_log.page(account, AuditFilters(), before=first.older, size=5)
    assert second.newer == second.events[0]["id"]
    middle = audit_log.page(account, AuditFilters(), before=second.older, size=5)
    back = audit_log.page(account, AuditFilters(), after=middle.newer, size=5)
    assert ids(back) == ids(second) and back.newer is not None
    # Near the top the newer page is the full first page.
    assert ids(audit_log.page(account, AuditFilters(), after=second.newer, size=5)) == sorted(events)[::-1][:5]
    assert first.newer is None and middle.older is None


def test_another_accounts_events_are_never_returned(account, other_account):
    add_event(other_account, "secret.thing", subject="admin@globex.test")
    everything = [e for rows in audit_log.iter_events(account, AuditFilters()) for e in rows]
    assert everything and all(e["type"] != "secret.thing" for e in everything)
    assert audit_log.page(account, make_filters(email="admin@globex.test")).events == []
    assert audit_log.page(account, make_filters(event_type="secret.thing")).events == []
    assert "secret.thing" not in audit_log.event_types(account)
    assert "secret.thing" in audit_log.event_types(other_account)


def test_event_types_are_distinct_and_sorted(account):
    for t in ("b.two", "a.one", "b.two", "c.three"):
        add_event(account, t)
    assert {"a.one", "b.two", "c.three"} <= set(audit_log.event_types(account))
    assert audit_log.event_types(account) == sorted(set(audit_log.event_types(account)))


def test_iter_events_batches_cover_everything_once(account):
    made = {add_event(account, n=i).id for i in range(30)}
    batches = list(audit_log.iter_events(account, make_filters(event_type="test.event"), batch=7))
    assert [len(b) for b in batches] == [7, 7, 7, 7, 2]
    flat = [e["id"] for b in batches for e in b]
    assert flat == sorted(made, reverse=True)


def test_export_bound_leaves_out_later_events(account):
    first = add_event(account)
    upto = audit_log.latest_id(account)
    add_event(account)
    rows = [e["id"] for b in audit_log.iter_events(account, make_filters(event_type="test.event"), upto) for e in b]
    assert rows == [first.id]


HOSTILE = ["=HYPERLINK(\"http://evil.test\",\"x\")", "+1+2", "-3", "@SUM(A1)", "\tcmd", "\rcmd"]


def test_csv_export_neutralises_formulas_and_keeps_content(account, admin):
    for i, value in enumerate(HOSTILE):
        add_event(account, "test.hostile", outcome="failure", reason="bad_thing", actor=admin, subject=value,
                  note=value)
    add_event(account, "test.plain", subject="plain, \"quoted\"\nline", nested={"b": 1, "a": [1, 2]})
    text = "".join(audit_log.export_csv(account, AuditFilters()))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(audit_log.EXPORT_FIELDS)
    hostile = [r for r in rows if r["type"] == "test.hostile"]
    assert sorted(r["subject"] for r in hostile) == sorted("'" + v for v in HOSTILE)
    assert all(r["outcome"] == "failure" and r["reason"] == "bad_thing" and r["actor"] == admin.email
               for r in hostile)
    assert all(not r[f].startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for f in r)
    plain = next(r for r in rows if r["type"] == "test.plain")
    assert plain["subject"] == "plain, \"quoted\"\nline"
    assert plain["details"] == '{"nested":{"a":[1,2],"b":1}}'
    assert plain["time"].endswith("Z") and datetime.fromisoformat(plain["time"][:-1])


def test_json_export_is_one_array_with_the_contract_fields(account, admin):
    add_event(account, "login.password", outcome="failure", reason="wrong_password", actor=admin,
              subject=admin.email, attempt=2)
    add_event(account, "login.password", actor=admin, subject="=1+1")
    rows = json.loads("".join(audit_log.export_json(account, make_filters(event_type="login.password"))))
    assert [r["outcome"] for r in rows] == ["success", "failure"]  # newest first
    for r in rows:
        assert {"time", "type", "outcome", "reason", "actor", "subject", "ip", "details"} <= set(r)
        assert r["time"].endswith("Z") and r["actor"] == admin.email
    assert rows[0]["reason"] == "" and rows[0]["subject"] == "=1+1"  # JSON is data: no CSV escaping
    assert rows[1]["reason"] == "wrong_password" and rows[1]["details"] == {"attempt": 2}
    assert json.loads("".join(audit_log.export_json(account, make_filters(event_type="none.such")))) == []


def test_prune_batch_deletes_only_old_events_of_every_account(account, other_account):
    now = datetime(2026, 6, 1)
    old = [add_event(a, at=now - timedelta(days=40)).id for a in (account, other_account) for _ in range(3)]
    recent = add_event(account, at=now - timedelta(days=10)).id
    cutoff = audit_log.prune_cutoff(30, now)
    assert audit_log.prune_batch(cutoff, batch=4) == 4
    assert audit_log.prune_batch(cutoff, batch=4) == 2
    assert audit_log.prune_batch(cutoff, batch=4) == 0
    db.session.commit()
    remaining = set(db.session.scalars(db.select(AuditEvent.id)))
    assert recent in remaining and not remaining & set(old)


@pytest.mark.parametrize("by_time", [True, False])
@pytest.mark.parametrize("kw", [{"since": date(2026, 3, 12)}, {"until": date(2026, 3, 12)},
                                {"since": date(2026, 3, 11), "until": date(2026, 3, 13), "outcome": "failure"}])
def test_both_date_range_plans_return_the_same_pages(account, monkeypatch, by_time, kw):
    made = []
    for i in range(40):  # times mostly rising with ids, with a few out of order as concurrent writers cause
        at = T0 + timedelta(hours=3 * i + (5 if i % 7 == 0 else 0))
        made.append(add_event(account, outcome="failure" if i % 3 else "success", at=at, n=i))
    since, until = audit_log._bounds(make_filters(**kw))
    expected = sorted((e.id for e in made if (since is None or e.time >= since) and (until is None or e.time < until)
                       and e.outcome == kw.get("outcome", e.outcome)), reverse=True)
    monkeypatch.setattr(audit_log, "_scan_by_time", lambda *a: by_time)
    seen, before = [], None
    while True:
        page = audit_log.page(account, make_filters(event_type="test.event", **kw), before=before, size=4)
        seen += ids(page)
        if page.older is None:
            break
        before = page.older
    assert len(expected) >= 4 and seen == expected
    exported = [e["id"] for b in audit_log.iter_events(account, make_filters(event_type="test.event", **kw), batch=3)
                for e in b]
    assert exported == expected


def test_scan_by_time_prefers_the_cheaper_plan(account):
    for i in range(30):
        add_event(account, at=T0 + timedelta(days=i))
    recent = make_filters(since=date(2026, 4, 5))
    old_week = make_filters(since=date(2026, 3, 11), until=date(2026, 3, 15))
    assert audit_log._scan_by_time(account.id, recent, None) is False  # walk ids: the range is at the top
    assert audit_log._scan_by_time(account.id, old_week, None) is True  # read the small old range


@pytest.mark.parametrize("by_time", [True, False])
def test_date_range_newer_cursor_and_snapshot_export(account, monkeypatch, by_time):
    made = [add_event(account, at=T0 + timedelta(hours=3 * i + (5 if i % 7 == 0 else 0)), n=i).id
            for i in range(30)]
    filters = make_filters(event_type="test.event", until=date(2026, 3, 12))
    monkeypatch.setattr(audit_log, "_scan_by_time", lambda *a: by_time)
    expected = [i for i in sorted(made, reverse=True)
                if db.session.get(AuditEvent, i).time < datetime(2026, 3, 13)]
    first = audit_log.page(account, filters, size=4)
    second = audit_log.page(account, filters, before=first.older, size=4)
    third = audit_log.page(account, filters, before=second.older, size=4)
    assert ids(first) + ids(second) + ids(third) == expected[:12]
    back = audit_log.page(account, filters, after=third.newer, size=4)
    assert ids(back) == ids(second)
    late = add_event(account, at=T0).id  # in range, but after the export's snapshot
    exported = [e["id"] for b in audit_log.iter_events(account, filters, upto=late - 1, batch=5) for e in b]
    assert exported == expected
