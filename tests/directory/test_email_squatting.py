"""No account creates users at an email domain another account has verified: not by the page, the CLI or a new
account's admin (email squatting: emails are unique across the portal, so such a user would lock the owner out)."""
from sqlalchemy import select

from portal.admin.forms import NO_ROLE
from portal.extensions import db
from portal.models import EmailDomain, User, utcnow
from tests.helpers import csrf_token


def _verified_by(account, domain="globex.test"):
    db.session.add(EmailDomain(account_id=account.id, domain=domain, token="b" * 32, verified_domain=domain,
                               verified_at=utcnow()))
    db.session.commit()


def test_the_users_page_refuses_an_address_at_another_accounts_verified_domain(admin_client, other_account):
    _verified_by(other_account)
    response = admin_client.post("/admin/users", data={"csrf_token": csrf_token(admin_client, "/admin/users"),
                                                       "email": "jane@globex.test", "name": "Jane", "role": NO_ROLE})
    assert response.status_code == 422
    assert "another account has verified" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "jane@globex.test")) is None


def test_the_cli_refuses_it_and_the_verifying_account_may(runner, account, other_account):
    _verified_by(other_account)
    refused = runner.invoke(args=["users", "create", "--domain", account.domain, "--email", "jane@globex.test"])
    assert refused.exit_code != 0 and "another account has verified" in refused.output
    assert db.session.scalar(select(User).where(User.email == "jane@globex.test")) is None
    allowed = runner.invoke(args=["users", "create", "--domain", other_account.domain, "--email", "jane@globex.test"])
    assert allowed.exit_code == 0, allowed.output


def test_an_unverified_listing_does_not_block_anyone(runner, account, other_account):
    db.session.add(EmailDomain(account_id=other_account.id, domain="globex.test", token="c" * 32))
    db.session.commit()
    result = runner.invoke(args=["users", "create", "--domain", account.domain, "--email", "jane@globex.test"])
    assert result.exit_code == 0, result.output
