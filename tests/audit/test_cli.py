"""flask audit export and flask audit prune."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

from portal.audit import log as audit_log
from portal.extensions import db
from portal.models import AuditEvent, utcnow
from tests.admin.helpers import add_event


def test_export_json_is_the_contract_array(runner, account, other_account, admin):
    add_event(account, "login.saml", outcome="failure", reason="audience_mismatch", subject="jane@acme.test",
              audience="https://portal.test/login/saml/acme-old")
    add_event(other_account, "login.saml", subject="someone@globex.test")
    result = runner.invoke(args=["audit", "export", "acme", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows[0] == {"id": rows[0]["id"], "time": rows[0]["time"], "type": "login.saml", "outcome": "failure",
                       "reason": "audience_mismatch", "actor": "", "subject": "jane@acme.test", "ip": "",
                       "user_agent": "", "details": {"audience": "https://portal.test/login/saml/acme-old"}}
    assert rows[0]["time"].endswith("Z")
    assert {r["type"] for r in rows} == {"login.saml", "user.created", "account.created"}  # acme only
    assert all(r["reason"] == "" for r in rows if r["outcome"] == "success")
    # The export is itself audited, after its snapshot.
    assert db.session.scalars(db.select(AuditEvent.details).where(AuditEvent.event_type == "audit.exported")).one() \
        == {"format": "json", "filters": {}, "via": "cli"}


def test_export_csv_with_type_and_dates(runner, account):
    add_event(account, "test.cli", subject="-2+3", at=datetime(2026, 1, 31, 23, 59, 59))
    add_event(account, "test.cli", subject="in range", at=datetime(2026, 2, 1, 0, 0, 0))
    add_event(account, "test.cli", subject="too late", at=datetime(2026, 2, 3, 0, 0, 0))
    add_event(account, "test.other", subject="wrong type", at=datetime(2026, 2, 1, 1, 0, 0))
    result = runner.invoke(args=["audit", "export", "acme", "--type", "test.cli", "--since", "2026-02-01",
                                 "--until", "2026-02-02"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["time"], r["subject"]) for r in rows] == [("2026-02-01T00:00:00Z", "in range")]
    everything = runner.invoke(args=["audit", "export", "acme", "--type", "test.cli"]).output
    assert "'-2+3" in everything  # formula neutralised


def test_export_errors_are_one_line(runner, account):
    result = runner.invoke(args=["audit", "export", "nowhere"])
    assert result.exit_code == 1 and "No account has the custom domain 'nowhere'" in result.output
    result = runner.invoke(args=["audit", "export", "acme", "--since", "last week"])
    assert result.exit_code == 1 and "YYYY-MM-DD" in result.output and "Traceback" not in result.output
    result = runner.invoke(args=["audit", "export", "acme", "--since", "2026-02-02", "--until", "2026-02-01"])
    assert result.exit_code == 1 and "before the start date" in result.output


def test_export_streams_in_batches(runner, account, monkeypatch):
    monkeypatch.setattr(audit_log, "EXPORT_BATCH", 3)
    for i in range(10):
        add_event(account, "test.many", n=i)
    rows = json.loads(runner.invoke(args=["audit", "export", "acme", "--format", "json", "--type",
                                          "test.many"]).output)
    assert [r["details"]["n"] for r in rows] == list(range(9, -1, -1))


def test_prune_without_retention_keeps_everything(runner, account):
    add_event(account, at=utcnow() - timedelta(days=4000))
    before = db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))
    result = runner.invoke(args=["audit", "prune"])
    assert result.exit_code == 0
    assert "kept forever" in result.output and "Nothing deleted" in result.output
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)) == before


def test_prune_uses_retention_setting_in_batches(app, runner, account, other_account, monkeypatch):
    app.config["AUDIT_RETENTION_DAYS"] = 30
    monkeypatch.setattr(audit_log, "PRUNE_BATCH", 2)
    old = [add_event(a, at=utcnow() - timedelta(days=31)).id for a in (account, other_account, account)]
    kept = add_event(account, at=utcnow() - timedelta(days=29)).id
    result = runner.invoke(args=["audit", "prune"])
    assert result.exit_code == 0, result.output
    assert "Deleted 3 audit events older than 30 days" in result.output
    db.session.expire_all()
    remaining = set(db.session.scalars(db.select(AuditEvent.id)))
    assert kept in remaining and not remaining & set(old)
    pruned = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event_type == "audit.pruned")).one()
    assert pruned.account_id is None and pruned.details["deleted"] == 3 and pruned.details["days"] == 30


def test_prune_days_option_overrides_and_validates(runner, account):
    add_event(account, at=utcnow() - timedelta(days=8))
    result = runner.invoke(args=["audit", "prune", "--days", "7"])
    assert result.exit_code == 0 and "Deleted 1 audit event older than 7 days" in result.output
    assert runner.invoke(args=["audit", "prune", "--days", "0"]).exit_code == 2
