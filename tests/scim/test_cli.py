"""flask scim token create|list|revoke."""
from __future__ import annotations

import json

from portal.scim import tokens


def test_create_prints_only_the_token_and_it_works(runner, client, account):
    result = runner.invoke(args=["scim", "token", "create", account.domain, "--name", "Okta"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert "\n" not in token and token.startswith("scim_")
    assert tokens.authenticate(account.domain, f"Bearer {token}")[0].name == "Okta"


def test_list_json_omits_revoked_tokens(runner, account):
    runner.invoke(args=["scim", "token", "create", account.domain, "--name", "Okta"])
    runner.invoke(args=["scim", "token", "create", account.domain, "--name", "Old"])
    old = next(t for t in tokens.list_tokens(account) if t.name == "Old")
    result = runner.invoke(args=["scim", "token", "revoke", account.domain, str(old.id)])
    assert result.exit_code == 0, result.output
    rows = json.loads(runner.invoke(args=["scim", "token", "list", account.domain, "--json"]).output)
    assert [set(r) for r in rows] == [{"id", "name", "created_at", "last_used_at"}]
    assert rows[0]["name"] == "Okta" and rows[0]["last_used_at"] is None
    assert rows[0]["created_at"].endswith("Z")


def test_revoke_refuses_an_unknown_or_other_accounts_token(runner, account, other_account):
    runner.invoke(args=["scim", "token", "create", other_account.domain, "--name", "Theirs"])
    theirs = tokens.list_tokens(other_account)[0]
    for token_id in (str(theirs.id), "999", "abc"):
        result = runner.invoke(args=["scim", "token", "revoke", account.domain, token_id])
        assert result.exit_code == 1 and "No active SCIM token" in result.output
    assert tokens.list_tokens(other_account)[0].revoked_at is None


def test_unknown_domain_is_an_error(runner):
    result = runner.invoke(args=["scim", "token", "create", "nowhere"])
    assert result.exit_code == 1 and "No account" in result.output
