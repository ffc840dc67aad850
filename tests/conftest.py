"""Fixtures: an app per test on SQLite (a file in tmp_path) or on PostgreSQL via PORTAL_TEST_DATABASE_URL.

The schema is built once per test session (per xdist worker): SQLite tests start from a copy of a template file
that already has the schema and the seeded roles; PostgreSQL keeps its schema and empties the tables. Each test
still gets its own app and an empty, seeded database.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from portal import create_app
from portal.accounts.service import create_account
from portal.directory.users import create_user
from portal.extensions import db
from portal.permissions import seed_roles
from tests.dns_server import dns_server
from tests.helpers import PASSWORD, PG_URL, SQLITE_FILE, PortalClient, login, make_config

_pg_schema_ready = False


@pytest.fixture(scope="session", autouse=True)
def worker_database():
    """The xdist worker's own PostgreSQL database (see helpers.PG_URL), made for the session and dropped after."""
    base = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if not PG_URL or PG_URL == base:
        yield
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = make_url(PG_URL).database
    admin = create_engine(make_url(base).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def reset_database(app) -> None:
    """Empty every table (PostgreSQL keeps its schema between tests), then seed roles."""
    global _pg_schema_ready
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            if not _pg_schema_ready:
                db.drop_all()
                db.create_all()
                _pg_schema_ready = True
            else:
                tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
                db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        else:
            db.create_all()
        seed_roles()
        db.session.commit()


@pytest.fixture
def app_config(tmp_path):
    """Override in a test module to change settings for its app."""
    return {}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path | None:
    """A SQLite file with the schema and the seeded roles, built once per session (None on PostgreSQL)."""
    if PG_URL:
        return None
    directory = tmp_path_factory.mktemp("template")
    template = create_app(make_config(directory))
    reset_database(template)
    with template.app_context():
        db.engine.dispose()
    return directory / SQLITE_FILE


@pytest.fixture
def app(tmp_path, app_config, sqlite_template):
    config = make_config(tmp_path, **app_config)
    copied = sqlite_template is not None and config["DATABASE_URL"] == make_config(tmp_path)["DATABASE_URL"]
    if copied:
        shutil.copyfile(sqlite_template, tmp_path / SQLITE_FILE)
    app = create_app(config)
    if not copied:  # a copy of the template is already built and seeded
        reset_database(app)
    with app.app_context():
        yield app
        db.session.remove()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def second_server(app, tmp_path, app_config):
    """Another portal instance (another gunicorn worker or host) sharing the database and the secret key."""
    other = create_app(make_config(tmp_path, **app_config))
    other.test_client_class = PortalClient
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()  # close its pooled connections (PostgreSQL warns about connections left open)


@pytest.fixture
def client(app):
    app.test_client_class = PortalClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def account(app):
    """Account 'acme' with its Account admin admin@acme.test."""
    account, _admin = create_account("Acme", "acme", "admin@acme.test", PASSWORD)
    db.session.commit()
    return account


@pytest.fixture
def admin(account):
    from portal.models import User

    return User.by_email("admin@acme.test")


@pytest.fixture
def member(account):
    """A user of acme with no role."""
    user = create_user(account, "member@acme.test", password=PASSWORD, via="cli")
    db.session.commit()
    return user


@pytest.fixture
def dns_zone(app):
    """A real DNS server on loopback used as PORTAL_DNS_RESOLVER; the test publishes TXT records in it."""
    with dns_server() as (zone, address):
        app.config["DNS_RESOLVER"] = address
        yield zone


@pytest.fixture
def other_account(app):
    """Account 'globex' with its admin admin@globex.test."""
    account, _admin = create_account("Globex", "globex", "admin@globex.test", PASSWORD)
    db.session.commit()
    return account


@pytest.fixture
def admin_client(client, admin):
    response = login(client, admin.email)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def member_client(client, member):
    response = login(client, member.email)
    assert response.status_code == 302
    return client
