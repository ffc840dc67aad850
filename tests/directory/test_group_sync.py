"""Group sync: parsing, team creation, membership add/remove, safety rail, concurrency."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from portal.directory.users import create_user
from portal.extensions import db
from portal.models import Account, AuditEvent, Team, TeamMembership, User
from portal.directory import group_sync as groups
from portal.directory.group_sync import parse_groups, sync_groups


@pytest.fixture
def sso(account):
    config = account.sso_config
    config.auto_create_groups = True
    db.session.commit()
    return config


def sync(account, user, values, sso, **kw):
    kw.setdefault("max_groups", 200)
    kw.setdefault("max_removals", 10)
    result = sync_groups(account, user, values, sso, **kw)
    db.session.commit()
    return result


def team_names(user) -> dict[str, set[str]]:
    """Team name -> sources of user's memberships, read fresh from the database."""
    rows = db.session.execute(select(Team.name, TeamMembership.source).join(TeamMembership).where(
        TeamMembership.user_id == user.id))
    names: dict[str, set[str]] = {}
    for name, source in rows:
        names.setdefault(name, set()).add(source)
    return names


def events(event_type):
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)
                                   .order_by(AuditEvent.id)))


def test_parse_one_value_per_group(sso):
    parsed = parse_groups(["Support", " Sales ", "", "  ", "support", "Sales  EMEA"], sso, 200)
    assert parsed.groups == ["Support", "Sales", "Sales EMEA"]
    assert not parsed.absent and not parsed.truncated


def test_parse_does_not_split_unless_enabled(sso):
    assert parse_groups(["Sales, EMEA"], sso, 200).groups == ["Sales, EMEA"]
    sso.split_group_values = True
    assert parse_groups(["Support, Sales;Billing ;; ,", "sales"], sso, 200).groups == \
        ["Support", "Sales", "Billing"]


def test_parse_absent_and_empty(sso):
    assert parse_groups(None, sso, 200).absent
    empty = parse_groups([], sso, 200)
    assert not empty.absent and empty.groups == []


def test_parse_filter_is_a_full_match(sso):
    sso.group_filter = "Sales.*|Support"
    parsed = parse_groups(["Sales", "Sales EMEA", "Support", "Support Tier 2", "Everyone", "PreSales"], sso, 200)
    assert parsed.groups == ["Sales", "Sales EMEA", "Support"]
    assert parsed.filtered_out == ["Support Tier 2", "Everyone", "PreSales"]


def test_parse_cap_reports_truncation(sso):
    parsed = parse_groups([f"g{i}" for i in range(5)], sso, 3)
    assert parsed.groups == ["g0", "g1", "g2"] and parsed.dropped == ["g3", "g4"] and parsed.truncated


def test_parse_invalid_filter_is_reported(sso):
    sso.group_filter = "Sales("
    assert parse_groups(["Sales"], sso, 200).filter_error


def test_first_login_creates_teams_without_roles(account, member, sso):
    result = sync(account, member, ["Support", "Sales"], sso)
    assert sorted(result.created) == ["Sales", "Support"] and sorted(result.added) == ["Sales", "Support"]
    assert team_names(member) == {"Support": {"sso"}, "Sales": {"sso"}}
    teams = db.session.scalars(select(Team).where(Team.account_id == account.id)).all()
    assert all(t.source == "sso" and t.roles == [] for t in teams)
    assert [e.subject for e in events("team.auto_created")] == ["Support", "Sales"]
    added = events("team.membership_added")
    assert {(e.details["team"], e.details["group"]) for e in added} == {("Support", "Support"), ("Sales", "Sales")}
    assert all(e.actor_email == member.email and e.subject == member.email for e in added)


def test_existing_team_matched_case_insensitively_first_spelling_kept(account, admin, member, sso):
    sync(account, admin, ["Support"], sso)
    result = sync(account, member, ["SUPPORT"], sso)
    assert result.created == [] and result.added == ["Support"]
    assert db.session.scalar(select(func.count()).select_from(Team)) == 1
    membership = db.session.scalar(select(TeamMembership).where(TeamMembership.user_id == member.id))
    assert membership.group_name == "SUPPORT"


def test_second_login_removes_dropped_group_and_keeps_manual(account, member, sso):
    sync(account, member, ["Support", "Sales"], sso)
    sales = db.session.scalar(select(Team).where(Team.name == "Sales"))
    manual = Team(account_id=account.id, name="Project X", source="manual")
    db.session.add(manual)
    db.session.add_all([
        TeamMembership(team=manual, user=member, account_id=account.id, source="manual"),
        TeamMembership(team=sales, user=member, account_id=account.id, source="manual"),
    ])
    db.session.commit()

    result = sync(account, member, ["Support"], sso)
    assert result.removed == ["Sales"] and result.added == [] and result.unchanged == ["Support"]
    # the SSO membership of Sales is gone; the manual one of Sales and of Project X stay
    assert team_names(member) == {"Support": {"sso"}, "Sales": {"manual"}, "Project X": {"manual"}}
    removed = events("team.membership_removed")
    assert [(e.details["team"], e.details["group"]) for e in removed] == [("Sales", "Sales")]


def test_filter_ignores_unmatched_groups(account, member, sso):
    sso.group_filter = "Portal-.*"
    db.session.commit()
    sync(account, member, ["Portal-Admins", "Everyone", "portal-admins"], sso)
    assert team_names(member) == {"Portal-Admins": {"sso"}}


def test_joined_values_create_each_team(account, member, sso):
    sso.split_group_values = True
    db.session.commit()
    sync(account, member, ["Support;Sales, Billing"], sso)
    assert set(team_names(member)) == {"Support", "Sales", "Billing"}


def test_safety_rail_missing_attribute_keeps_memberships(account, member, sso):
    sync(account, member, ["Support", "Sales"], sso)
    result = sync(account, member, None, sso)
    assert result.skipped == groups.MISSING_ATTRIBUTE and result.removed == []
    assert set(team_names(member)) == {"Support", "Sales"}
    [warning] = events("sso.group_sync_skipped")
    assert warning.outcome == "warning" and warning.reason == "group_attribute_missing"


def test_missing_attribute_without_sso_memberships_is_quiet(account, member, sso):
    result = sync(account, member, None, sso)
    assert result.skipped == "" and events("sso.group_sync_skipped") == []


def test_safety_rail_too_many_removals(account, member, sso):
    sync(account, member, ["a", "b", "c", "d"], sso)
    result = sync(account, member, ["a"], sso, max_removals=2)
    assert result.skipped == groups.TOO_MANY_REMOVALS and result.held == ["b", "c", "d"]
    assert set(team_names(member)) == {"a", "b", "c", "d"}
    [warning] = events("sso.group_sync_skipped")
    assert warning.reason == "too_many_team_removals" and warning.details["would_remove"] == ["b", "c", "d"]
    # within the threshold the removal goes through
    assert sync(account, member, ["a", "b"], sso, max_removals=2).removed == ["c", "d"]


def test_empty_group_list_removes_sso_memberships(account, member, sso):
    sync(account, member, ["a"], sso)
    assert sync(account, member, [], sso).removed == ["a"]
    assert team_names(member) == {}


def test_invalid_filter_holds_everything(account, member, sso):
    sync(account, member, ["a"], sso)
    sso.group_filter = "a("
    db.session.commit()
    result = sync(account, member, ["b"], sso)
    assert result.skipped == groups.INVALID_FILTER and set(team_names(member)) == {"a"}


def test_truncation_is_audited(account, member, sso):
    result = sync(account, member, ["a", "b", "c"], sso, max_groups=2)
    assert result.parse.truncated and set(team_names(member)) == {"a", "b"}
    [warning] = events("sso.groups_truncated")
    assert warning.outcome == "warning" and warning.details["dropped"] == 1


def test_auto_create_groups_off_does_nothing(account, member, sso):
    sso.auto_create_groups = False
    db.session.commit()
    result = sync(account, member, ["a"], sso)
    assert result.skipped == "auto_create_groups_off" and team_names(member) == {}


def test_dry_run_writes_nothing(account, member, sso):
    sync(account, member, ["Support", "Sales"], sso)
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    result = sync(account, member, ["Support", "Billing"], sso, dry_run=True)
    assert result.dry_run and result.created == ["Billing"] and result.added == ["Billing"]
    assert result.removed == ["Sales"] and result.unchanged == ["Support"]
    assert set(team_names(member)) == {"Support", "Sales"}
    assert db.session.scalar(select(Team).where(Team.name == "Billing")) is None
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_teams_are_per_account(account, other_account, member, sso):
    sync(account, member, ["Support"], sso)
    globex_user = create_user(other_account, "u@globex.test")
    other_account.sso_config.auto_create_groups = True
    db.session.commit()
    sync(other_account, globex_user, ["support"], other_account.sso_config)
    teams = db.session.execute(select(Team.account_id, Team.name).order_by(Team.id)).all()
    assert teams == [(account.id, "Support"), (other_account.id, "support")]


def test_concurrent_first_logins_create_the_team_once(app, account, sso, monkeypatch):
    """Two users of the same new group log in at once: one team, both members."""
    for email in ("one@acme.test", "two@acme.test"):
        create_user(account, email, via="sso")
    db.session.commit()
    account_id = account.id
    barrier = threading.Barrier(2, timeout=10)
    original = groups._create_team
    outcomes: list[bool] = []

    def racing_create(account, name):
        barrier.wait()  # both logins have looked the team up and found none
        team, created = original(account, name)
        outcomes.append(created)
        return team, created

    monkeypatch.setattr(groups, "_create_team", racing_create)
    errors: list[BaseException] = []

    def login(email):
        try:
            with app.app_context():
                acct = db.session.get(Account, account_id)
                user = User.by_email(email)
                sync_groups(acct, user, ["New Group"], acct.sso_config, max_groups=200, max_removals=10)
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=login, args=(e,)) for e in ("one@acme.test", "two@acme.test")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(outcomes) == [False, True]  # the second insert hit the unique constraint and re-read
    db.session.expire_all()
    teams = db.session.scalars(select(Team).where(Team.account_id == account_id)).all()
    assert [t.name for t in teams] == ["New Group"]
    assert {m.user.email for m in teams[0].memberships} == {"one@acme.test", "two@acme.test"}
    assert len(events("team.auto_created")) == 1


def test_concurrent_logins_of_one_user_add_the_membership_once(app, account, member, sso, monkeypatch):
    """The same user's two logins race on an existing team: one SSO membership, no error."""
    team = Team(account_id=account.id, name="Support", source="sso")
    db.session.add(team)
    db.session.commit()
    ids = (account.id, member.id)
    barrier = threading.Barrier(2, timeout=10)
    original = groups._add_membership
    outcomes: list[bool] = []

    def racing_add(*args):
        barrier.wait()  # both logins saw no SSO membership yet
        added = original(*args)
        outcomes.append(added)
        return added

    monkeypatch.setattr(groups, "_add_membership", racing_add)
    errors: list[BaseException] = []

    def login():
        try:
            with app.app_context():
                acct, user = db.session.get(Account, ids[0]), db.session.get(User, ids[1])
                sync_groups(acct, user, ["support"], acct.sso_config, max_groups=200, max_removals=10)
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=login) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and sorted(outcomes) == [False, True]
    db.session.expire_all()
    assert team_names(member) == {"Support": {"sso"}}
    assert len(events("team.membership_added")) == 1
