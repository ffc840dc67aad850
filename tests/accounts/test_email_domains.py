"""DNS-verified email domains (DESIGN "Tenant isolation"), checked against a real DNS server on loopback."""
from __future__ import annotations

import json
import time

import pytest

from portal import ConfigError, create_app
from portal.accounts import email_domains
from portal.accounts.service import find_for_sso
from portal.extensions import db
from portal.models import AuditEvent
from tests.dns_server import silent_resolver


def listed(account, domain="acme.test"):
    email_domains.set_domains(account, [d.domain for d in email_domains.list_domains(account)] + [domain])
    db.session.commit()
    return email_domains.get_domain(account, domain)


def events(account, event_type):
    return [e for e in db.session.query(AuditEvent).filter_by(account_id=account.id, event_type=event_type)
            .order_by(AuditEvent.id)]


def check(account, domain="acme.test"):
    result = email_domains.check(account, domain)
    db.session.commit()
    return result


def test_txt_record_with_the_token_verifies_and_routes_work_emails(account, dns_zone):
    row = listed(account)
    assert find_for_sso("jane@acme.test") is None  # listed, not proven: routes nobody
    dns_zone.set_txt("acme.test", "v=spf1 -all", f"portal-verification={row.token}")
    result = check(account)
    assert result.verified and result.reason is None
    assert row.verified_at is not None and row.last_checked_at is not None
    assert "acme.test" in dns_zone.queries
    (event,) = events(account, "sso.email_domain.verified")
    assert event.subject == "acme.test" and event.details["record"] == f"portal-verification={row.token}"
    assert find_for_sso("Jane@ACME.test").id == account.id


@pytest.mark.parametrize("publish, reason", [
    (lambda zone, token: zone.set_txt("acme.test", "portal-verification=" + "f" * 32), "wrong_token"),
    (lambda zone, token: zone.set_txt("acme.test", "v=spf1 -all"), "no_txt_record"),
    (lambda zone, token: zone.set_txt("acme.test"), "no_txt_record"),
    (lambda zone, token: zone.set_txt("www.acme.test", f"portal-verification={token}"), "nxdomain"),
])
def test_missing_or_wrong_record_is_refused_with_its_reason(account, dns_zone, publish, reason):
    row = listed(account)
    publish(dns_zone, row.token)
    result = check(account)
    assert not result.verified and result.reason.value == reason
    assert row.verified_at is None and row.last_check_result == result.message
    (event,) = events(account, "sso.email_domain.check_failed")
    assert event.outcome == "failure" and event.reason == reason and event.subject == "acme.test"
    assert find_for_sso("jane@acme.test") is None


def test_unreachable_resolver_times_out_in_bounded_time(app, account):
    row = listed(account)
    app.config["DNS_TIMEOUT"] = 1
    with silent_resolver() as address:
        app.config["DNS_RESOLVER"] = address
        started = time.monotonic()
        result = check(account)
        elapsed = time.monotonic() - started
    assert result.reason.value == "resolver_timeout" and not result.verified
    assert elapsed < 3, f"the check took {elapsed:.1f}s"
    assert row.verified_at is None and "did not answer within 1 seconds" in row.last_check_result


def test_a_resolver_failure_keeps_a_verification_but_a_removed_record_ends_it(app, account, dns_zone):
    row = listed(account)
    dns_zone.set_txt("acme.test", f"portal-verification={row.token}")
    assert check(account).verified
    zone_address = app.config["DNS_RESOLVER"]
    app.config["DNS_TIMEOUT"] = 1
    with silent_resolver() as address:
        app.config["DNS_RESOLVER"] = address
        result = check(account)
    assert result.reason.value == "resolver_timeout" and result.verified  # a flaky resolver proves nothing
    assert find_for_sso("jane@acme.test").id == account.id
    app.config["DNS_RESOLVER"] = zone_address
    dns_zone.set_txt("acme.test", "v=spf1 -all")
    result = check(account)
    assert result.reason.value == "no_txt_record" and not result.verified
    assert row.verified_at is None and row.verified_domain is None
    assert events(account, "sso.email_domain.check_failed")[-1].details["unverified"] is True
    assert find_for_sso("jane@acme.test") is None


def test_hostile_account_cannot_verify_a_domain_another_account_verified(account, other_account, dns_zone):
    mine = listed(account)
    theirs = listed(other_account)
    # Even with both tokens published (say a former admin of acme added globex's), the first proof holds.
    dns_zone.set_txt("acme.test", f"portal-verification={mine.token}", f"portal-verification={theirs.token}")
    assert check(account).verified
    result = check(other_account)
    assert not result.verified and result.reason.value == "email_domain_of_other_account"
    assert "already verified by another account" in result.message
    assert theirs.verified_at is None and theirs.verified_domain is None
    (event,) = events(other_account, "sso.email_domain.check_failed")
    assert event.reason == "email_domain_of_other_account"
    assert find_for_sso("jane@acme.test").id == account.id


def test_only_one_account_holds_the_verified_slot_even_without_the_owner_check(account, other_account, dns_zone,
                                                                               monkeypatch):
    # The unique verified_domain column is the backstop when two checks race past the owner lookup.
    mine, theirs = listed(account), listed(other_account)
    dns_zone.set_txt("acme.test", f"portal-verification={mine.token}", f"portal-verification={theirs.token}")
    assert check(account).verified
    monkeypatch.setattr("portal.models.EmailDomain.verified_owner", classmethod(lambda cls, domain: None))
    result = check(other_account)
    assert result.reason.value == "email_domain_of_other_account" and theirs.verified_at is None
    assert "meanwhile" in result.message
    monkeypatch.undo()
    assert find_for_sso("jane@acme.test").id == account.id


def test_cli_verify_domain_exit_codes_and_show_json(runner, account, dns_zone):
    result = runner.invoke(args=["sso-config", "verify-domain", "acme", "Acme.test"])
    assert result.exit_code == 1
    assert "not verified (nxdomain)" in result.stderr and "portal-verification=" in result.stderr
    data = json.loads(runner.invoke(args=["sso-config", "show", "acme", "--json"]).stdout)
    (item,) = data["email_domains"]
    assert (item["domain"], item["verified"]) == ("acme.test", False) and len(item["token"]) == 32
    dns_zone.set_txt("acme.test", "portal-verification=" + "0" * 32)
    result = runner.invoke(args=["sso-config", "verify-domain", "acme", "acme.test"])
    assert result.exit_code == 1 and "(wrong_token)" in result.stderr
    dns_zone.set_txt("acme.test", f"portal-verification={item['token']}")
    result = runner.invoke(args=["sso-config", "verify-domain", "acme", "acme.test"])
    assert result.exit_code == 0, result.output
    assert "acme.test: verified for acme" in result.stdout
    data = json.loads(runner.invoke(args=["sso-config", "show", "acme", "--json"]).stdout)
    assert data["email_domains"][0]["verified"] is True and data["email_domains"][0]["token"] == item["token"]
    result = runner.invoke(args=["sso-config", "verify-domain", "acme", "gmail.com"])
    assert result.exit_code == 1 and "public mailbox provider" in result.stderr


def test_cli_verify_domain_for_another_accounts_verified_domain(runner, account, other_account, dns_zone):
    mine, theirs = listed(account), listed(other_account)
    dns_zone.set_txt("acme.test", f"portal-verification={mine.token}", f"portal-verification={theirs.token}")
    assert runner.invoke(args=["sso-config", "verify-domain", "acme", "acme.test"]).exit_code == 0
    result = runner.invoke(args=["sso-config", "verify-domain", "globex", "acme.test"])
    assert result.exit_code == 1 and "(email_domain_of_other_account)" in result.stderr


@pytest.mark.parametrize("value", ["dns.example:53", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999", "[::1]",
                                   "::1:53x", "127.0.0.1:abc"])
def test_malformed_resolver_stops_start_up(tmp_path, value):
    with pytest.raises(ConfigError, match="PORTAL_DNS_RESOLVER must be host:port"):
        create_app({"SECRET_KEY": "x", "DATABASE_URL": "sqlite://", "DNS_RESOLVER": value})


@pytest.mark.parametrize("value, normalised", [("127.0.0.1:5353", "127.0.0.1:5353"), (" [::1]:53 ", "[::1]:53"),
                                               ("", None)])
def test_resolver_setting_is_normalised(value, normalised):
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": "sqlite://", "DNS_RESOLVER": value})
    assert app.config["DNS_RESOLVER"] == normalised
