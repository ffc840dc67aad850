"""`flask db upgrade` on an empty database gives exactly the models, and seeds the predefined roles."""
import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.extensions import db
from portal.models import Role
from portal.permissions import PREDEFINED_ROLES

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")


@pytest.fixture
def empty_database_url(tmp_path):
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    # A scratch PostgreSQL database of its own, so the shared test schema is untouched.
    name = f"portal_mig_{uuid.uuid4().hex[:8]}"
    url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_matches_models_and_seeds_roles(empty_database_url):
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": empty_database_url})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
        assert diff == []
        roles = {r.name: (r.description, sorted(r.permissions)) for r in db.session.scalars(select(Role))}
        assert roles == {name: (desc, sorted(perms)) for name, desc, perms in PREDEFINED_ROLES}
        db.session.remove()
        db.engine.dispose()
