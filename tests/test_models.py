import pytest
from sqlalchemy.exc import IntegrityError

from portal.accounts.service import create_account
from portal.directory.users import create_user
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import Team, TeamMembership, User, domain_problem


def test_same_email_in_two_accounts_refused_case_insensitively(account, other_account):
    create_user(account, "Jane@Example.com", via="cli")
    db.session.commit()
    with pytest.raises(ServiceError, match="already used"):
        create_user(other_account, "jane@EXAMPLE.com", via="cli")


def test_email_unique_at_database_level(account, other_account):
    db.session.add(User(account=account, email="x@example.com"))
    db.session.commit()
    db.session.add(User(account=other_account, email="x@example.com"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_emails_stored_lower_case_and_found_any_case(account):
    create_user(account, "  Mixed.Case@Example.COM ", via="cli")
    db.session.commit()
    assert User.by_email("mixed.case@example.com").email == "mixed.case@example.com"
    assert User.by_email("MIXED.CASE@EXAMPLE.COM") is not None


@pytest.mark.parametrize("domain, ok", [
    ("acme", True), ("my-company-2", True), ("ab", False), ("a" * 64, False), ("Acme", False),
    ("acme_corp", False), ("-acme", False), ("acme-", False), ("login", False), ("admin", False),
    ("a" * 63, True), ("acmé", False),
])
def test_domain_rules(domain, ok):
    assert (domain_problem(domain) is None) is ok


def test_duplicate_domain_refused(account):
    with pytest.raises(ServiceError, match="already used by another account"):
        create_account("Other", "ACME", "x@other.test")


def test_team_names_unique_per_account_case_insensitive(account, other_account):
    db.session.add(Team(account=account, name="Support"))
    db.session.add(Team(account=other_account, name="support"))
    db.session.commit()
    db.session.add(Team(account_id=account.id, name=" SUPPORT "))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_effective_roles_are_union_of_direct_and_team_roles(account, member):
    from portal.models import Role

    team = Team(account=account, name="Support")
    team.roles.append(Role.by_name("Developer"))
    db.session.add(team)
    db.session.flush()
    db.session.add(TeamMembership(team=team, user=member, account_id=account.id, source="manual"))
    member.roles.append(Role.by_name("Billing"))
    member.roles.append(Role.by_name("developer"))
    db.session.commit()
    assert [r.name for r in member.effective_roles()] == ["Developer", "Billing"]
    assert member.permissions() == {"manage_api_keys", "view_analytics", "manage_billing"}
