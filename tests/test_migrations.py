"""`flask db upgrade` on an empty database gives exactly the models, and seeds the predefined roles."""
import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect, select, text

from devtools.servers import scratch_database
from portal import create_app
from portal.extensions import db
from portal.models import Role
from portal.permissions import PREDEFINED_ROLES


@pytest.fixture
def empty_database_url(tmp_path):
    with scratch_database(tmp_path, "migrations") as url:
        yield url


def test_upgrade_matches_models_and_seeds_roles(empty_database_url):
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": empty_database_url})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn, warnings.catch_warnings():
            # SQLite's reflection cannot read an expression index back (its existence is checked below)
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
            warnings.filterwarnings("ignore", "autogenerate skipping")
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
            indexes = {i["name"] for i in inspect(conn).get_indexes("audit_event")}
        assert diff == []
        assert "ix_audit_event_account_reference_id" in indexes or db.engine.dialect.name == "sqlite"
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as conn:
                assert conn.execute(text("SELECT sql FROM sqlite_master WHERE name = "
                                         "'ix_audit_event_account_reference_id'")).scalar() is not None
        roles = {r.name: (r.description, sorted(r.permissions)) for r in db.session.scalars(select(Role))}
        assert roles == {name: (desc, sorted(perms)) for name, desc, perms in PREDEFINED_ROLES}
        db.session.remove()
        db.engine.dispose()


def test_0008_turns_claimed_email_domains_into_unverified_listings_with_fresh_tokens(empty_database_url):
    from flask_migrate import downgrade
    from sqlalchemy import text

    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": empty_database_url})
    with app.app_context():
        upgrade(revision="0007_isolation")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO account (id, name, domain, created_at) VALUES "
                              "(1, 'Acme', 'acme', CURRENT_TIMESTAMP), (2, 'Globex', 'globex', CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO claimed_email_domain (account_id, email_domain) VALUES "
                              "(1, 'acme.example'), (2, 'acme.test')"))
        upgrade(revision="0008_email_domain_verification")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT account_id, domain, token, verified_domain, verified_at, created_at "
                                     "FROM email_domain ORDER BY account_id")).all()
        assert [(r[0], r[1], r[3], r[4]) for r in rows] == [(1, "acme.example", None, None), (2, "acme.test", None, None)]
        assert len({r[2] for r in rows}) == 2 and all(len(r[2]) == 32 and r[5] is not None for r in rows)
        downgrade(revision="0007_isolation")  # nothing was verified: nothing goes back as a claim
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM claimed_email_domain")).scalar() == 0
        db.session.remove()
        db.engine.dispose()
