"""`flask accounts delete DOMAIN --yes`: the account and everything of it go; its custom domain is held."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from portal.directory.teams import create_team
from portal.directory.users import create_user
from portal.extensions import db
from portal.models import Account, AuditEvent, EmailDomain, ReleasedDomain, SsoConfig, Team, User, utcnow


def count(model, **where) -> int:
    db.session.expire_all()
    query = select(func.count()).select_from(model)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    return db.session.scalar(query)


def test_without_yes_nothing_is_deleted(runner, account):
    result = runner.invoke(args=["accounts", "delete", "acme"])
    assert result.exit_code == 1 and "--yes" in result.stderr and "Acme" in result.stderr
    assert Account.by_domain("acme") is not None and count(User, account_id=account.id) == 1


def test_delete_removes_the_account_holds_its_domain_and_is_audited(runner, account, other_account):
    account_id = account.id
    create_user(account, "jane@acme.test", via="cli")
    create_team(account, "Support")
    db.session.add(EmailDomain(account_id=account_id, domain="acme.test", token="0" * 32))
    db.session.commit()
    result = runner.invoke(args=["accounts", "delete", "ACME", "--yes"])
    assert result.exit_code == 0, result.output
    assert "Deleted the account acme and its 2 user(s)" in result.stdout and "held until" in result.stdout
    assert Account.by_domain("acme") is None
    for model in (User, Team, SsoConfig, EmailDomain, AuditEvent):
        assert count(model, account_id=account_id) == 0, model
    assert count(User, account_id=other_account.id) == 1  # the other account is untouched
    hold = db.session.get(ReleasedDomain, "acme")
    assert hold is not None and hold.held_until > utcnow() + timedelta(days=29)
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == "account.deleted"))
    assert event.account_id is None and event.subject == "acme"
    assert event.details["name"] == "Acme" and event.details["users"] == 2 and event.details["released_until"]
    # Nobody takes the released domain during the hold (its bookmarks and Okta tiles would lead to them).
    result = runner.invoke(args=["accounts", "create", "--name", "Squatter", "--domain", "acme",
                                 "--admin-email", "admin@squat.example"])
    assert result.exit_code == 1 and "held until" in result.stderr


def test_unknown_account(runner, account):
    result = runner.invoke(args=["accounts", "delete", "nope", "--yes"])
    assert result.exit_code == 1 and "No account has the custom domain 'nope'" in result.stderr
