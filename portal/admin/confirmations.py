"""What each destructive admin action's confirmation step says: the object by name and the consequence."""
from __future__ import annotations

from portal.directory import teams
from portal.models import Role, Team, User


def delete_team(team: Team) -> tuple[str, list[str]]:
    """Question and consequences of deleting a team."""
    count = teams.member_count(team)
    roles = ", ".join(r.name for r in team.roles) or "no role"
    lines = [f"Its {count} member{'' if count == 1 else 's'} leave the team and lose what it granted them ({roles}), "
             "unless they have it another way. The team's memberships and role grants are deleted. "
             "This cannot be undone."]
    if team.source == "sso":
        lines.append(f"If Auto-create groups is on, a later login of someone in the IdP group “{team.name}” creates "
                     "the team again, with no roles.")
    return f"Delete the team “{team.name}”?", lines


def remove_member(team: Team, user: User) -> tuple[str, list[str]]:
    """Question and consequences of removing a manual membership."""
    roles = ", ".join(r.name for r in team.roles) or "no role"
    return (f"Remove {user.email} from the team “{team.name}”?",
            [f"{user.email} loses the roles the team grants ({roles}) at their next page view, unless they have "
             "them another way. Memberships that come from an IdP group are not touched."])


def revoke_role(holder: Team | User, role: Role) -> tuple[str, list[str]]:
    """Question and consequences of revoking a role from a team or a user."""
    if isinstance(holder, Team):
        count = teams.member_count(holder)
        return (f"Revoke the role {role.name} from the team “{holder.name}”?",
                [f"Its {count} member{'' if count == 1 else 's'} lose the permissions of {role.name} "
                 f"({role.description}) at their next page view, unless they have the role another way."])
    return (f"Revoke the role {role.name} from {holder.email}?",
            [f"{holder.email} loses the permissions of {role.name} ({role.description}) at their next page view, "
             "unless a team of theirs grants the role."])


def deactivate_user(user: User) -> tuple[str, list[str]]:
    """Question and consequences of deactivating a user."""
    return (f"Deactivate {user.email}?",
            [f"{user.email} is signed out everywhere at once and can no longer log in, with a password or through "
             "SSO. Their teams and roles are kept; you can reactivate them later (their old sessions stay ended)."])


def sign_out_user(user: User) -> tuple[str, list[str]]:
    """Question and consequences of ending every session of a user."""
    return (f"Sign {user.email} out everywhere?",
            [f"Every session of {user.email} ends at its next click, on every server, and “Keep me signed in” is "
             "forgotten. They can sign in again."])


def break_glass_off(user: User) -> tuple[str, list[str]]:
    """Question and consequences of unmarking a break-glass admin."""
    return (f"Unmark {user.email} as a break-glass admin?",
            [f"While the account requires SSO, {user.email} can no longer sign in with a password: if the IdP is "
             "down or misconfigured, they are locked out like everyone else."])


def break_glass_on(user: User) -> tuple[str, list[str]]:
    """Question and consequences of marking a break-glass admin."""
    return (f"Mark {user.email} as a break-glass admin?",
            [f"{user.email} may sign in with a password even while the account requires SSO. Keep their password "
             "strong and secret; every such login is recorded and listed on the Single Sign-On page."])
