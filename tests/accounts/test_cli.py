import json

from portal.extensions import db
from portal.models import AuditEvent, User
from tests.helpers import login


def test_accounts_create_then_login_shows_account_admin(runner, client):
    result = runner.invoke(args=["accounts", "create", "--name", "Acme", "--domain", "acme",
                                 "--admin-email", "admin@acme.test", "--admin-password", "s3cret-pass"])
    assert result.exit_code == 0, result.output
    assert "Created account 'Acme'" in result.output
    assert login(client, "admin@acme.test", "s3cret-pass").status_code == 302
    assert "Account admin" in client.get("/").get_data(as_text=True)


def test_accounts_create_duplicate_domain_fails(runner, account):
    result = runner.invoke(args=["accounts", "create", "--name", "Again", "--domain", "acme",
                                 "--admin-email", "x@again.test"])
    assert result.exit_code == 1
    assert "already used by another account" in result.output
    assert User.by_email("x@again.test") is None


def test_accounts_create_invalid_domain_fails(runner, app):
    result = runner.invoke(args=["accounts", "create", "--name", "X", "--domain", "no_underscores",
                                 "--admin-email", "x@x.test"])
    assert result.exit_code == 1
    assert "Invalid custom domain" in result.output


def test_accounts_list_json(runner, account, other_account):
    result = runner.invoke(args=["accounts", "list", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert [r["domain"] for r in rows] == ["acme", "globex"]
    assert rows[0]["name"] == "Acme" and rows[0]["sso_enabled"] is False


def test_accounts_list_human(runner, account):
    result = runner.invoke(args=["accounts", "list"])
    assert result.exit_code == 0 and "acme" in result.output and "DOMAIN" in result.output


def test_users_create_with_role(runner, account):
    result = runner.invoke(args=["users", "create", "--domain", "acme", "--email", "Dev@Acme.test",
                                 "--password", "password1", "--role", "developer"])
    assert result.exit_code == 0, result.output
    user = User.by_email("dev@acme.test")
    assert user.account_id == account.id and [r.name for r in user.roles] == ["Developer"]
    assert user.created_via == "cli" and user.check_password("password1")


def test_users_create_errors(runner, account, other_account):
    dup = runner.invoke(args=["users", "create", "--domain", "globex", "--email", "ADMIN@acme.test"])
    assert dup.exit_code == 1 and "already used" in dup.output
    role = runner.invoke(args=["users", "create", "--domain", "acme", "--email", "a@acme.test", "--role", "Boss"])
    assert role.exit_code == 1 and "Unknown role 'Boss'" in role.output
    assert User.by_email("a@acme.test") is None
    domain = runner.invoke(args=["users", "create", "--domain", "nowhere", "--email", "a@acme.test"])
    assert domain.exit_code == 1 and "No account has the custom domain 'nowhere'" in domain.output
    email = runner.invoke(args=["users", "create", "--domain", "acme", "--email", "not-an-email"])
    assert email.exit_code == 1 and "not a valid email" in email.output
    short = runner.invoke(args=["users", "create", "--domain", "acme", "--email", "b@acme.test", "--password", "x"])
    assert short.exit_code == 1 and "at least 8 characters" in short.output


def test_users_list_json(runner, account, member):
    rows = json.loads(runner.invoke(args=["users", "list", "acme", "--json"]).output)
    assert {r["email"] for r in rows} == {"admin@acme.test", "member@acme.test"}
    admin = next(r for r in rows if r["email"] == "admin@acme.test")
    assert admin["roles"] == ["Account admin"] and admin["active"] is True
    assert set(admin) >= {"email", "name", "active", "created_via", "last_login", "teams", "roles"}


def test_users_deactivate_and_reactivate(runner, client, account, member):
    result = runner.invoke(args=["users", "deactivate", "acme", "member@acme.test"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert User.by_email("member@acme.test").active is False
    assert login(client, "member@acme.test").status_code == 200
    assert runner.invoke(args=["users", "reactivate", "acme", "member@acme.test"]).exit_code == 0
    assert login(client, "member@acme.test").status_code == 302
    types = [e.event_type for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]
    assert "user.deactivated" in types and "user.reactivated" in types


def test_last_admin_cannot_be_deactivated(runner, account):
    result = runner.invoke(args=["users", "deactivate", "acme", "admin@acme.test"])
    assert result.exit_code == 1 and "last Account admin" in result.output


def test_user_in_other_account_not_found(runner, account, other_account):
    result = runner.invoke(args=["users", "deactivate", "globex", "admin@acme.test"])
    assert result.exit_code == 1 and "No user admin@acme.test in account 'globex'" in result.output


def test_demo_setup_is_idempotent_and_prints_credentials(runner, client):
    first = runner.invoke(args=["demo", "setup", "--password", "demo-pass-1"])
    assert first.exit_code == 0 and "admin@demo.test" in first.output and "demo-pass-1" in first.output
    second = runner.invoke(args=["demo", "setup", "--password", "demo-pass-2"])
    assert second.exit_code == 0
    assert login(client, "admin@demo.test", "demo-pass-2").status_code == 302
