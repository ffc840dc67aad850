"""Team and role admin services, without the client."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.directory.users import create_user
from portal.directory import teams as services
from portal.directory import users
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import AuditEvent, Team
from tests.helpers import make_team


def last_event(event_type):
    return db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == event_type)
                             .order_by(AuditEvent.id.desc()))


def test_create_rename_delete_manual_team(account, admin):
    team = services.create_team(account, "  Project   X ", actor=admin)
    db.session.commit()
    assert team.name == "Project X" and team.source == "manual" and team.roles == []
    event = last_event("team.created")
    assert event.actor_email == admin.email and event.details["after"] == {"name": "Project X", "source": "manual"}

    with pytest.raises(ServiceError, match="already has a team named 'Project X'"):
        services.create_team(account, "project x")
    services.rename_team(account, team, "Project Y", actor=admin)
    db.session.commit()
    assert last_event("team.renamed").details == {"team_id": team.id, "before": {"name": "Project X"},
                                                   "after": {"name": "Project Y"}}
    services.delete_team(account, team, actor=admin)
    db.session.commit()
    assert db.session.scalar(select(Team)) is None
    assert last_event("team.deleted").details["before"]["name"] == "Project Y"


def test_same_team_name_allowed_in_another_account(account, other_account):
    services.create_team(account, "Ops")
    services.create_team(other_account, "Ops")
    db.session.commit()
    assert sorted(t.account_id for t in db.session.scalars(select(Team))) == sorted([account.id, other_account.id])


def test_sso_team_cannot_be_renamed(account, member):
    team = make_team(account, "Support", source="sso", members=[member])
    with pytest.raises(ServiceError, match="rename the group in your IdP"):
        services.rename_team(account, team, "Help")


def test_sso_team_deletion_refused_while_login_would_recreate_it(account, member):
    team = make_team(account, "Support", source="sso", members=[member])
    account.sso_config.auto_create_groups = True
    db.session.commit()
    with pytest.raises(ServiceError, match="would re-create it"):
        services.delete_team(account, team)
    account.sso_config.auto_create_groups = False
    services.delete_team(account, team)
    db.session.commit()
    assert db.session.get(Team, team.id) is None


def test_members_manual_only(account, member):
    team = make_team(account, "Support", source="sso", members=[member])
    with pytest.raises(ServiceError, match="through the IdP group"):
        services.remove_member(account, team, member.email)
    services.add_member(account, team, "MEMBER@acme.test")
    db.session.commit()
    assert sorted(m.source for m in team.memberships) == ["manual", "sso"]
    assert last_event("team.membership_added").details["after"] == {"memberships": ["manual", "sso"]}
    with pytest.raises(ServiceError, match="already a member"):
        services.add_member(account, team, member.email)
    services.remove_member(account, team, member.email)
    db.session.commit()
    assert [m.source for m in team.memberships] == ["sso"]


def test_add_member_of_other_account_refused(account, other_account):
    team = make_team(account, "Ops")
    with pytest.raises(ServiceError, match="No user admin@globex.test in account 'acme'"):
        services.add_member(account, team, "admin@globex.test")


def test_role_grant_and_revoke_audited(account, admin, member):
    team = make_team(account, "Support", members=[member])
    services.grant_role(account, team, "developer", actor=admin)
    db.session.commit()
    assert [r.name for r in member.effective_roles()] == ["Developer"]
    event = last_event("team.role_granted")
    assert event.details["before"] == {"roles": []} and event.details["after"] == {"roles": ["Developer"]}
    with pytest.raises(ServiceError, match="Unknown role 'Boss'"):
        services.grant_role(account, team, "Boss")
    services.revoke_role(account, team, "Developer", actor=admin)
    db.session.commit()
    assert member.effective_roles() == []


def test_last_admin_protection_everywhere(account, admin, member):
    with pytest.raises(ServiceError, match="without an Account admin"):
        users.revoke_role(account, admin, "Account admin")
    event = last_event("user.role_revoked")
    assert event.outcome == "failure" and event.reason == "last_account_admin"
    with pytest.raises(ServiceError, match="last Account admin"):
        users.set_active(account, admin, False)
    # moving the role to a team: the direct grant can go, then the team is the only source
    team = make_team(account, "Admins", roles=["Account admin"], members=[admin])
    users.revoke_role(account, admin, "Account admin")
    db.session.commit()
    for action in (lambda: services.revoke_role(account, team, "Account admin"),
                   lambda: services.remove_member(account, team, admin.email),
                   lambda: services.delete_team(account, team)):
        with pytest.raises(ServiceError, match="without an Account admin"):
            action()
    assert [r.name for r in admin.effective_roles()] == ["Account admin"]
    # with a second admin, the first may go
    users.grant_role(account, member, "Account admin")
    services.remove_member(account, team, admin.email)
    db.session.commit()
    assert admin.effective_roles() == []


def test_deactivated_admin_does_not_count(account, admin):
    other = create_user(account, "second@acme.test", role="Account admin")
    other.active = False
    db.session.commit()
    with pytest.raises(ServiceError):
        users.revoke_role(account, admin, "Account admin")
