"""Fixtures for sessions: a second app instance on the same database, as a second server would be."""
from __future__ import annotations

import pytest

from portal import create_app
from portal.extensions import db
from tests.helpers import PortalClient, make_config


@pytest.fixture
def second_server(app, tmp_path, app_config):
    """Another portal instance (another gunicorn worker or host) sharing the database and the secret key."""
    other = create_app(make_config(tmp_path, **app_config))
    other.test_client_class = PortalClient
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()  # close its pooled connections (PostgreSQL warns about connections left open)
