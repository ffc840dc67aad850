"""SCIM fixtures: a token of acme (and of globex), a Scim client for each."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.scim import tokens
from tests.scim.helpers import Scim


@pytest.fixture
def token(account):
    _row, value = tokens.create_token(account, "Okta")
    db.session.commit()
    return value


@pytest.fixture
def other_token(other_account):
    _row, value = tokens.create_token(other_account, "Globex Entra")
    db.session.commit()
    return value


@pytest.fixture
def scim(client, account, token):
    return Scim(client, account.domain, token)


@pytest.fixture
def other_scim(client, other_account, other_token):
    return Scim(client, other_account.domain, other_token)
