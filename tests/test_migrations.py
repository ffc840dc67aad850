"""`flask db upgrade` on an empty database gives exactly the models, and seeds the predefined roles."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import select

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
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
        assert diff == []
        roles = {r.name: (r.description, sorted(r.permissions)) for r in db.session.scalars(select(Role))}
        assert roles == {name: (desc, sorted(perms)) for name, desc, perms in PREDEFINED_ROLES}
        db.session.remove()
        db.engine.dispose()
