"""Released custom domains are held (issue 14, finding 5): after acme renames itself, globex (hostile)
cannot take 'acme' by renaming or by `flask accounts create` until PORTAL_DOMAIN_QUARANTINE_DAYS have passed,
so acme's bookmarks and Okta tiles never lead to globex's IdP. Only acme may take 'acme' back meanwhile."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from portal.accounts import domains
from portal.errors import FieldErrors
from portal.extensions import db
from portal.models import Account, AuditEvent, ReleasedDomain, utcnow
from tests.helpers import csrf_token, login

PAGE = "/settings/security/sso"


def rename(client, domain: str):
    return client.post(PAGE, data={"csrf_token": csrf_token(client, PAGE), "section": "domain", "domain": domain,
                                   "email_domains": ""})


def create(runner, domain: str):
    return runner.invoke(args=["accounts", "create", "--name", "Squatter", "--domain", domain,
                               "--admin-email", f"admin@{domain}.example"])


@pytest.fixture
def released(account, other_account):
    """acme renamed itself to acme-corp today: 'acme' is held for acme."""
    domains.change_domain(account, "acme-corp")
    db.session.commit()
    return account


def test_other_accounts_rename_refused_during_the_hold(app, client, released, other_account):
    assert login(client, "admin@globex.test").status_code == 302
    response = rename(client, "acme")
    page = response.get_data(as_text=True)
    until = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d")
    assert f"held until {until}" in page, page
    db.session.expire_all()
    assert other_account.domain == "globex" and Account.by_domain("acme") is None


def test_accounts_create_refused_during_the_hold(runner, released):
    result = create(runner, "acme")
    assert result.exit_code == 1 and "held until" in result.output, result.output
    assert Account.by_domain("acme") is None


def test_the_releasing_account_may_take_it_back(released):
    domains.change_domain(released, "acme")
    db.session.commit()
    assert released.domain == "acme"
    assert db.session.get(ReleasedDomain, "acme") is None  # back in use, no hold left
    assert db.session.get(ReleasedDomain, "acme-corp") is not None  # the name it gave up now is held


def test_free_again_after_the_hold(runner, released, other_account):
    db.session.execute(update(ReleasedDomain).values(held_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    domains.change_domain(other_account, "acme")
    db.session.commit()
    assert Account.by_domain("acme").id == other_account.id
    assert db.session.get(ReleasedDomain, "acme") is None
    assert create(runner, "globex").exit_code == 1  # globex's own old name is held in turn


def test_hold_length_is_configurable(app, account, other_account):
    app.config["DOMAIN_QUARANTINE_DAYS"] = 0
    domains.change_domain(account, "acme-corp")
    domains.change_domain(other_account, "acme")  # no hold at all
    assert other_account.domain == "acme"
    app.config["DOMAIN_QUARANTINE_DAYS"] = 7
    domains.change_domain(other_account, "acme-2")
    with pytest.raises(FieldErrors, match=f"held until {(utcnow() + timedelta(days=7)):%Y-%m-%d}"):
        domains.change_domain(account, "acme")


def test_release_is_audited(released):
    event = db.session.query(AuditEvent).filter_by(event_type="account.domain_changed").one()
    assert event.details["released_until"] == f"{utcnow() + timedelta(days=30):%Y-%m-%d}"
