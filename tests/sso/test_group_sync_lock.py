"""Issue 14 finding 1: an SSO login matches its groups (RE2) before its transaction writes anything, so a long
group list never holds a write lock (on SQLite that lock would block every account's writes)."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import event, text

from portal.directory import group_sync
from portal.extensions import db
from portal.models import TeamMembership

GROUPS = [f"team-{i:05d}-{'x' * 10}" for i in range(10_000)]
PATTERN = r"(team-0000[0-9]|eng-[a-z]+)-(x+|y+)"  # alternation and repetition: a real pattern, not a literal


@pytest.fixture
def app_config():
    return {"SAML_MAX_RESPONSE_BYTES": 4 * 1024 * 1024}  # 10,000 group values do not fit the default cap


def _writes_to_another_account(other_account) -> None:
    """Write from a second connection, giving up after 0.5 s if a lock is held (SQLite waits otherwise)."""
    with db.engine.connect() as other:
        if other.dialect.name == "sqlite":
            other.exec_driver_sql("PRAGMA busy_timeout = 500")
        else:
            other.exec_driver_sql("SET lock_timeout = 500")
        other.execute(text("UPDATE account SET name = :name WHERE id = :id"),
                      {"name": "Globex (written meanwhile)", "id": other_account.id})
        other.commit()


def test_group_matching_runs_before_the_first_write_and_blocks_no_other_writer(flow, account, other_account,
                                                                               monkeypatch):
    config = account.sso_config
    config.auto_create_groups, config.group_filter = True, PATTERN
    db.session.commit()
    log: list[str] = []
    real_parse = group_sync.parse_groups

    def parse_and_let_another_connection_write(*args, **kwargs):
        log.append("match")
        _writes_to_another_account(other_account)  # raises "database is locked" if the login holds a write lock
        return real_parse(*args, **kwargs)

    def note_write(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE") \
                and "Globex (written meanwhile)" not in str(parameters):
            log.append("write")

    monkeypatch.setattr(group_sync, "parse_groups", parse_and_let_another_connection_write)
    request = flow.start()
    xml = flow.respond(request, "admin@acme.test", groups=GROUPS)
    event.listen(db.engine, "before_cursor_execute", note_write)
    try:
        started = time.monotonic()
        response = flow.post(xml, relay_state=request.relay_state)
        elapsed = time.monotonic() - started
    finally:
        event.remove(db.engine, "before_cursor_execute", note_write)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    assert log.count("match") == 1 and "write" in log
    assert log.index("match") < log.index("write"), log[:5]
    assert elapsed < 20, f"the login took {elapsed:.1f}s"
    db.session.expire_all()
    assert other_account.name == "Globex (written meanwhile)"
    names = {m.group_name for m in db.session.query(TeamMembership).filter_by(account_id=account.id)}
    assert names == {f"team-{i:05d}-{'x' * 10}" for i in range(10)}  # the filter ran, on all 10,000 values
