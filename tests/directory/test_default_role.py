"""The default role for new people (SCIM and SSO auto-create) never makes an admin by itself."""
from __future__ import annotations

from datetime import datetime

import pytest

from portal.directory import roles, scim
from portal.directory.provisioning import sign_in_user
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import Role, User
from portal.permissions import PERMISSIONS
from portal.sso import acs_account
from tests.helpers import csrf_token

PAGE = "/settings/security/provisioning"


@pytest.fixture
def owners():
    """A custom role with every permission: an admin's role under another name."""
    role = Role(name="Owners", permissions=sorted(PERMISSIONS))
    db.session.add(role)
    db.session.commit()
    return role


@pytest.mark.parametrize("name", ["Account admin", "Owners"])
def test_a_role_with_account_admin_permissions_cannot_be_the_default(account, admin, owners, name):
    with pytest.raises(ServiceError, match="cannot be the default role"):
        roles.set_default_role(account, name, actor=admin)
    assert account.default_role_id is None


def test_the_page_says_why(admin_client, account):
    response = admin_client.post(f"{PAGE}/default-role",
                                 data={"role": "Account admin", "csrf_token": csrf_token(admin_client, PAGE)})
    assert response.status_code == 422 and "cannot be the default role" in response.get_data(as_text=True)
    assert account.default_role_id is None


def test_an_admin_default_stored_before_the_rule_is_never_granted(account, admin, owners):
    account.default_role_id = owners.id  # set before set_default_role refused it
    db.session.commit()
    created = scim.create_user(account, {"email": "pushed@acme.test"}, actor=None)
    signed_in, _ = sign_in_user(acs_account.load("acme"), "tile@acme.test", {}, auto_create=True,
                                at=datetime(2026, 1, 1))
    db.session.commit()
    for email in (created.email, signed_in.email):
        assert User.by_email(email).roles == []
