"""What keeps SCIM fast: statements per request, Server-Timing, and no pool ping with a retry on a dead connection."""
from __future__ import annotations

import os
import re
import uuid

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.accounts.service import create_account
from portal.extensions import db
from portal.models import AuditEvent, User
from portal.permissions import seed_roles
from portal.scim import tokens
from tests.helpers import PASSWORD, make_config
from tests.scim.helpers import Scim, filter_param, okta_user

# The dead-connection test always runs on PostgreSQL (as tests/load/test_faults.py does): only a real
# server's pooled connections can die under the portal.
PG_ADMIN_URL = os.environ.get("PORTAL_TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"


class Statements:
    """The SQL statements the app's engine runs while counting."""

    def __init__(self, engine):
        self.seen: list[str] = []
        event.listen(engine, "before_cursor_execute", self._seen)
        self.engine = engine

    def _seen(self, _conn, _cursor, statement, *_args):
        self.seen.append(" ".join(statement.split())[:60])

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self._seen)


@pytest.fixture
def statements(app):
    counter = Statements(db.engine)
    yield counter
    counter.close()


def test_an_existence_check_is_two_statements_and_a_create_three(scim, statements):
    assert scim.get("/Users").status_code == 200  # stamps last_used_at (at most once a minute)
    statements.seen.clear()
    found = scim.get("/Users?filter=" + filter_param('userName eq "ada@acme.test"') + "&startIndex=1&count=100")
    assert found.status_code == 200 and found.get_json()["totalResults"] == 0
    # the token (with its account, checked in the database on every request: revoked means refused at once),
    # then only the filter: no COUNT for a short first page
    assert [s.split()[:3] for s in statements.seen] == [["SELECT", "scim_token.id,", "scim_token.account_id,"],
                                                        ["SELECT", "user_account.id,", "user_account.account_id,"]], \
        statements.seen
    statements.seen.clear()
    assert scim.post("/Users", okta_user("ada@acme.test")).status_code == 201
    # the token, the user (unless another account verified the email's domain: the same statement checks) and its
    # audit event: the unique index (not a SELECT of users first) refuses a taken email
    assert [s.split()[:3] for s in statements.seen] == [["SELECT", "scim_token.id,", "scim_token.account_id,"],
                                                        ["INSERT", "INTO", "user_account"],
                                                        ["INSERT", "INTO", "audit_event"]], statements.seen


def test_a_taken_email_is_still_409_without_the_select_and_nothing_is_written(scim, other_account):
    users = db.session.scalar(select(db.func.count()).select_from(User))
    answer = scim.post("/Users", okta_user("admin@globex.test"))
    assert answer.status_code == 409 and answer.get_json()["scimType"] == "uniqueness"
    assert db.session.scalar(select(db.func.count()).select_from(User)) == users
    events = list(db.session.scalars(select(AuditEvent.event_type).where(AuditEvent.event_type.like("scim.user.%"))))
    refused = list(db.session.scalars(select(AuditEvent.reason).where(AuditEvent.event_type == "scim.request.refused")))
    assert events == [] and refused == ["uniqueness"]


def test_scim_answers_carry_server_timing_and_other_pages_do_not(scim, client):
    for answer in (scim.get("/Users"), scim.get("/Nowhere"), client.get("/scim/v2/acme/Users")):
        assert re.fullmatch(r"app;dur=\d+\.\d\d, cpu;dur=\d+\.\d\d", answer.headers["Server-Timing"])
    assert "Server-Timing" not in client.get("/login").headers


@pytest.fixture
def pg_app(tmp_path):
    """An app on a PostgreSQL database of its own, whatever database the rest of the suite uses."""
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg")
    name = f"portal_scim_ping_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    app = create_app(make_config(tmp_path, DATABASE_URL=url.set(database=name).render_as_string(False)))
    try:
        with app.app_context():
            db.create_all()
            seed_roles()
            account, _ = create_account("Acme", "acme", "admin@acme.test", PASSWORD)
            _row, token = tokens.create_token(account, "Okta")
            db.session.commit()
            db.session.remove()
        app.scim_token = token

        def kill_connections():
            with admin.connect() as conn:  # what a PostgreSQL restart or failover does to pooled connections
                return conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                         "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": name}).scalar()
        app.kill_connections = kill_connections
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_dead_pooled_connection_is_retried_by_scim_and_pinged_for_everything_else(pg_app):
    scim = Scim(pg_app.test_client(), "acme", pg_app.scim_token)
    assert scim.get("/Users").status_code == 200
    assert pg_app.kill_connections() >= 1
    # SCIM checks its connection out unpinged: the first statement fails, the request retries once.
    listed = scim.get("/Users")
    assert listed.status_code == 200 and listed.get_json()["totalResults"] == 1
    assert pg_app.kill_connections() >= 1
    assert scim.post("/Users", okta_user("ada@acme.test")).status_code == 201
    assert pg_app.kill_connections() >= 1
    # Every other checkout is pinged first (pool_pre_ping's job, now portal/dbping.py's).
    with pg_app.app_context():
        assert db.session.scalar(select(User.email).where(User.email == "ada@acme.test")) == "ada@acme.test"


def test_a_token_revoked_by_another_process_is_refused_by_the_next_request(scim, account):
    assert scim.get("/Users").status_code == 200
    assert scim.get("/Users").status_code == 200
    # Revoked by another process (another gunicorn worker or host): only the database says so.
    db.session.execute(text("UPDATE scim_token SET revoked_at = created_at WHERE name = 'Okta'"))
    db.session.commit()
    assert scim.get("/Users").status_code == 401


def test_an_existence_check_is_not_ordered_by_an_index_postgresql_could_walk(scim):
    """ORDER BY id LIMIT n let PostgreSQL walk (account_id, id) testing every user (stale statistics, generic
    plans): 1 ms at 10,000 users and growing during a push. An eq on an indexed attribute orders by id + 0, so the
    attribute's own index finds the rows; other filters keep ORDER BY id (the page order an index gives)."""
    seen: list[str] = []

    def listen(_conn, _cursor, statement, *_rest):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        for expression in ('userName eq "ada@acme.test"', 'externalId eq "00u1"', 'emails.value eq "a@acme.test"',
                           "active eq true", 'userName sw "ada"'):
            seen.clear()
            assert scim.get("/Users?filter=" + filter_param(expression) + "&count=100").status_code == 200
            page = [s for s in seen if s.startswith("SELECT user_account.id,")][0]
            walkable = not re.search(r"ORDER BY user_account\.id \+ ", page)
            assert walkable == (expression in ("active eq true", 'userName sw "ada"')), (expression, page)
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
