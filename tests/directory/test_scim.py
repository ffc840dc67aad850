"""The SCIM writer's create (Core INSERTs behind directory.scim.create_user), without the client."""
from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select

from portal.directory import scim as directory
from portal.extensions import db
from portal.models import AuditEvent, Role, User


def _columns(user: User) -> dict:
    return {attr.key: getattr(user, attr.key) for attr in inspect(User).column_attrs}


@pytest.mark.parametrize("role", [None, "Analyst"])
def test_the_created_user_is_the_row_as_written_with_its_role_and_one_event(account, role):
    account.default_role_id = Role.by_name(role).id if role else None
    db.session.commit()
    account_id = account.id
    user = directory.create_user(account, {"email": " Ada@Acme.test ", "external_id": "00u1", "given_name": "Ada",
                                           "family_name": "Lovelace", "name": "Ada Lovelace", "active": False}, None)
    returned = _columns(user)
    assert [r.name for r in user.roles] == ([role] if role else [])  # loads through the session as usual
    db.session.commit()
    db.session.expunge_all()
    stored = db.session.get(User, returned["id"])
    assert _columns(stored) == returned
    assert stored.email == "ada@acme.test" and stored.active is False and stored.created_via == "scim"
    assert stored.account_id == account_id and len(stored.scim_id) == 32 and stored.password_hash is None
    assert [r.name for r in stored.roles] == ([role] if role else [])
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == "scim.user.created")))
    assert len(events) == 1 and events[0].details == {"scim_id": stored.scim_id, "external_id": "00u1",
                                                       "active": False, "roles": [role] if role else []}


def test_a_taken_email_is_refused_and_the_user_of_the_other_account_untouched(account, other_account):
    with pytest.raises(directory.ProvisioningRefused) as refused:
        directory.create_user(account, {"email": "admin@globex.test"}, None)
    assert (refused.value.status, refused.value.scim_type) == (409, "uniqueness")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == "admin@globex.test")) == 1
    assert db.session.scalar(select(User.account_id).where(User.email == "admin@globex.test")) == other_account.id
