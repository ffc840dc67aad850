"""Plain helpers shared by the tests and tests/conftest.py (fixtures live in conftest files, helpers here)."""
from __future__ import annotations

import os
import re

from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import Role, Team, TeamMembership



def _worker_database(url: str | None) -> str | None:
    """Under pytest-xdist each worker has a PostgreSQL database of its own: <database>_<worker id>."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


PG_URL = _worker_database(os.environ.get("PORTAL_TEST_DATABASE_URL"))
SQLITE_FILE = "portal.sqlite3"
BASE_URL = "https://portal.test"
PASSWORD = "correct horse battery"


def make_config(tmp_path, **overrides) -> dict:
    """Test settings; SQLite file per test unless PostgreSQL was asked for."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "BASE_URL": BASE_URL,
        "DATABASE_URL": PG_URL or f"sqlite:///{tmp_path / SQLITE_FILE}",
        "RATELIMIT_STORAGE_URI": "memory://",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast; production uses scrypt
    }
    config.update(overrides)
    return config


class PortalClient(FlaskClient):
    """Each request runs in its own app context (own g, own DB session), as in production."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()  # the test's session sees what the request committed
        return response


def csrf_token(client, path: str) -> str:
    """GET path and return the CSRF token of its form."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, email: str, password: str = PASSWORD):
    """Sign in through the real login form (CSRF included)."""
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def make_team(account, name, source="manual", roles=(), members=(), member_source=None) -> Team:
    """A team with roles and members (memberships of member_source, default the team's source), committed."""
    team = Team(account_id=account.id, name=name, source=source)
    db.session.add(team)
    for role in roles:
        team.roles.append(Role.by_name(role))
    for user in members:
        db.session.add(TeamMembership(team=team, user=user, account_id=account.id,
                                      source=member_source or source, group_name=name if source == "sso" else None))
    db.session.commit()
    return team


def page_without_tokens(response) -> str:
    """A page's HTML with its CSRF tokens blanked: they embed a timestamp, so two requests may differ in them."""
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+"', r'\1"', response.get_data(as_text=True))
