"""Helpers shared by the admin tests."""
from __future__ import annotations

from portal.extensions import db
from portal.models import Role, Team, TeamMembership


def make_team(account, name, source="manual", roles=(), members=(), member_source=None):
    """A team with roles and members (memberships of member_source, default the team's source)."""
    team = Team(account_id=account.id, name=name, source=source)
    db.session.add(team)
    for role in roles:
        team.roles.append(Role.by_name(role))
    for user in members:
        db.session.add(TeamMembership(team=team, user=user, account_id=account.id,
                                      source=member_source or source, group_name=name if source == "sso" else None))
    db.session.commit()
    return team

