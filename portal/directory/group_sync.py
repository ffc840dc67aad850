"""Auto-create groups: IdP groups become teams; SSO memberships follow the groups on every login.

sync_groups() runs inside the login's transaction (the caller commits once); the login parses and
filters the groups with parse_groups() before that transaction's first write. It never touches
manual memberships, and a safety rail holds back changes that look like a misconfigured
group statement rather than a real change of the user's groups.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import re2

from sqlalchemy import bindparam, delete, select
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.audit import Event, Reason as AuditReason
from portal.extensions import db
from portal.models import AccountView, Team, TeamMembership, UserRef
from portal.models.protocols import SsoConfigView

GROUP_ATTRIBUTE = "http://schemas.xmlsoap.org/claims/Group"
MAX_NAME = 200  # Team.name and TeamMembership.group_name columns
_SEPARATORS = re.compile(r"[,;]")

# Reason codes of sso.group_sync_skipped.
MISSING_ATTRIBUTE = AuditReason.GROUP_ATTRIBUTE_MISSING.value
TOO_MANY_REMOVALS = AuditReason.TOO_MANY_TEAM_REMOVALS.value
INVALID_FILTER = AuditReason.GROUP_FILTER_INVALID.value

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # the error is returned to the admin, not written to the worker's stderr


class GroupFilterError(ValueError):
    """The group filter is not valid RE2 syntax; str() says why."""


def compile_group_filter(pattern: str):
    """The group filter compiled by RE2, or GroupFilterError with RE2's message.

    RE2 (not Python's re) because the pattern comes from an account admin and runs on every
    login: RE2 matches in time linear in the group name, so `(a+)+` cannot pin a worker.
    """
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        message = exc.args[0] if exc.args else exc
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        raise GroupFilterError(str(message)) from None


@dataclass
class GroupParse:
    """The groups of one login after splitting, trimming, de-duplicating, filtering and capping."""
    groups: list[str] = field(default_factory=list)
    absent: bool = False  # the response carried no group attribute at all
    filtered_out: list[str] = field(default_factory=list)  # did not match the group filter
    too_long: list[str] = field(default_factory=list)  # longer than a team name may be
    dropped: list[str] = field(default_factory=list)  # cut by the per-login cap
    filter_error: str = ""  # the group filter is not a valid regular expression

    @property
    def truncated(self) -> bool:
        return bool(self.dropped)


@dataclass
class SyncResult:
    """What a sync did (or, for a dry run, would do); team names as spelled in the portal."""
    parse: GroupParse
    created: list[str] = field(default_factory=list)  # teams created from groups
    added: list[str] = field(default_factory=list)  # teams the user joined through SSO
    removed: list[str] = field(default_factory=list)  # SSO memberships ended
    unchanged: list[str] = field(default_factory=list)  # SSO memberships kept as they were
    skipped: str = ""  # reason code when the safety rail (or a setting) stopped the sync
    held: list[str] = field(default_factory=list)  # removals held back by the safety rail
    dry_run: bool = False

    @property
    def groups(self) -> list[str]:
        return self.parse.groups


def parse_groups(values: list[str] | None, sso_config: SsoConfigView, max_groups: int) -> GroupParse:
    """Clean the asserted group values (None: attribute absent) and apply the account's group filter.

    The filter is RE2 syntax and a full match, like Okta's "Matches regex" group filter, so
    the admin can paste the same expression in both places: `Sales` matches only "Sales",
    `Sales.*` matches "Sales" and "Sales EMEA".
    """
    result = GroupParse(absent=values is None)
    names: list[str] = []
    for value in values or []:
        # Older Okta orgs send every group joined in one value; only split when the account says so,
        # because a group name may itself contain a comma.
        parts = _SEPARATORS.split(value or "") if sso_config.split_group_values else [value or ""]
        names.extend(" ".join(p.split()) for p in parts)
    pattern = None
    if (sso_config.group_filter or "").strip():
        try:
            pattern = compile_group_filter(sso_config.group_filter.strip())
        except GroupFilterError as exc:
            result.filter_error = str(exc)
    seen: set[str] = set()
    for name in names:
        key = Team.key(name)
        if not key or key in seen:
            continue  # empty, or a second spelling of a group already read: the first spelling wins
        seen.add(key)
        if len(name) > MAX_NAME:
            result.too_long.append(name[:MAX_NAME] + "…")
        elif pattern is not None and not pattern.fullmatch(name):
            result.filtered_out.append(name)
        elif len(result.groups) >= max_groups:
            result.dropped.append(name)
        else:
            result.groups.append(name)
    return result


def sync_groups(account: AccountView, user: UserRef, values: list[str] | None, sso_config: SsoConfigView, *,
                max_groups: int, max_removals: int, dry_run: bool = False,
                parse: GroupParse | None = None) -> SyncResult:
    """Make user's SSO team memberships match the asserted groups (caller commits; dry_run writes nothing).

    parse: the groups already parsed by parse_groups(); a login passes it so that the filter runs before
    its transaction writes anything (a write lock must never wait on matching).
    """
    parse = parse if parse is not None else parse_groups(values, sso_config, max_groups)
    result = SyncResult(parse=parse, dry_run=dry_run)
    if not sso_config.auto_create_groups:
        result.skipped = "auto_create_groups_off"
        return result
    if not dry_run:
        # Push the login's own writes first so the savepoints below nest inside its transaction.
        db.session.flush()
    current = _sso_memberships(account, user)
    if parse.truncated and not dry_run:
        audit.record(account, Event.SSO_GROUPS_TRUNCATED, outcome="warning", reason=AuditReason.TOO_MANY_GROUPS, actor=user,
                     subject=user.email, kept=len(parse.groups), dropped=len(parse.dropped),
                     max_groups=max_groups, first_dropped=parse.dropped[:20])

    wanted = {Team.key(g): g for g in parse.groups}
    to_remove = [m for key, m in current.items() if key not in wanted]
    reason = _rail(parse, current, to_remove, max_removals)
    if reason:
        result.skipped = reason
        result.held = sorted(m.name for m in to_remove)
        result.unchanged = sorted(m.name for m in current.values())
        if not dry_run:
            audit.record(account, Event.SSO_GROUP_SYNC_SKIPPED, outcome="warning", reason=reason, actor=user,
                         subject=user.email, groups=parse.groups, would_remove=result.held,
                         max_removals=max_removals, filter_error=parse.filter_error or None)
        return result

    for key, group in wanted.items():
        if key in current:
            result.unchanged.append(current[key].name)
            continue
        team = _find_team(account, key)
        if team is None:
            if dry_run:
                result.created.append(group)
                result.added.append(group)
                continue
            team, created = _create_team(account, group)
            if created:
                result.created.append(team.name)
                audit.record(account, Event.TEAM_AUTO_CREATED, actor=user, subject=team.name, team_id=team.id,
                             group=group, source="sso", roles=[])
        result.added.append(team.name)
        if not dry_run and _add_membership(account, team, user, group):
            audit.record(account, Event.TEAM_MEMBERSHIP_ADDED, actor=user, subject=user.email, team=team.name,
                         team_id=team.id, group=group, source="sso")
    for membership in to_remove:
        result.removed.append(membership.name)
        if not dry_run:
            audit.record(account, Event.TEAM_MEMBERSHIP_REMOVED, actor=user, subject=user.email,
                         team=membership.name, team_id=membership.team_id, group=membership.group_name,
                         source="sso")
    if not dry_run:
        if to_remove:
            db.session.execute(delete(TeamMembership).where(
                TeamMembership.account_id == account.id, TeamMembership.user_id == user.id,
                TeamMembership.source == "sso", TeamMembership.team_id.in_([m.team_id for m in to_remove])))
        db.session.flush()
    result.removed.sort()
    result.unchanged.sort()
    return result


def _rail(parse: GroupParse, current: dict, to_remove: list, max_removals: int) -> str:
    """The reason to hold every change of this login, or "" to go ahead."""
    if parse.filter_error:
        return INVALID_FILTER  # an unusable filter would otherwise read as "no groups at all"
    if parse.absent and current:
        return MISSING_ATTRIBUTE  # a dropped attribute statement must not strip everyone's teams
    if len(to_remove) > max_removals:
        return TOO_MANY_REMOVALS
    return ""


_team, _membership = Team.__table__.c, TeamMembership.__table__.c
_SSO_MEMBERSHIPS = (
    select(_team.name, _team.name_key, _membership.team_id, _membership.group_name)
    .select_from(TeamMembership.__table__.join(Team.__table__, _team.id == _membership.team_id))
    .where(_membership.account_id == bindparam("account_id"), _membership.user_id == bindparam("user_id"),
           _membership.source == "sso"))


def _sso_memberships(account: AccountView, user: UserRef) -> dict[str, Row]:
    """user's SSO memberships by team key: plain rows (name, name_key, team_id, group_name), one query.

    Every login reads them all and usually changes none, so no ORM objects are built for them.
    """
    rows = db.session.connection().execute(_SSO_MEMBERSHIPS, {"account_id": account.id, "user_id": user.id})
    return {row.name_key: row for row in rows}


def _find_team(account: AccountView, key: str) -> Team | None:
    return db.session.scalar(select(Team).where(Team.account_id == account.id, Team.name_key == key))


def _create_team(account: AccountView, name: str) -> tuple[Team, bool]:
    """Create the team, or return the one a concurrent login created first (unique account + name_key)."""
    try:
        with db.session.begin_nested():
            team = Team(account_id=account.id, name=name, source="sso")
            db.session.add(team)
    except IntegrityError:
        # Another login committed the same team between our read and our insert; use theirs.
        team = _find_team(account, Team.key(name))
        if team is None:
            raise
        return team, False
    return team, True


def _add_membership(account: AccountView, team: Team, user: UserRef, group: str) -> bool:
    """Add the SSO membership; False when a concurrent login of the same user already added it."""
    try:
        with db.session.begin_nested():
            db.session.add(TeamMembership(team_id=team.id, user_id=user.id, source="sso",
                                          account_id=account.id, group_name=group))
    except IntegrityError:
        return False
    return True
