"""flask sso-config: --sign-requests / --want-encrypted-assertions, rotate-sp-key, sp-certificate, check."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import update

from portal.extensions import db
from portal.models import SpKey, utcnow
from portal.sso import saml


def sso(runner, *args):
    return runner.invoke(args=["sso-config", *args])


def show(runner) -> dict:
    result = sso(runner, "show", "acme", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_options_off_by_default_and_set(runner, account):
    data = show(runner)
    assert data["sign_requests"] is False and data["want_encrypted_assertions"] is False
    assert data["sp_certificates"] == []
    result = sso(runner, "set", "acme", "--sign-requests", "--want-encrypted-assertions")
    assert result.exit_code == 0, result.output
    assert "Sign AuthnRequests: False → True" in result.output
    data = show(runner)
    assert data["sign_requests"] is True and data["want_encrypted_assertions"] is True
    assert [c["state"] for c in data["sp_certificates"]] == ["current"]
    result = sso(runner, "set", "acme", "--no-sign-requests", "--no-want-encrypted-assertions")
    assert result.exit_code == 0
    assert show(runner)["want_encrypted_assertions"] is False


def test_rotate_then_finish(runner, account):
    assert sso(runner, "set", "acme", "--want-encrypted-assertions").exit_code == 0
    first = show(runner)["sp_certificates"][0]["sha256_fingerprint"]
    result = sso(runner, "rotate-sp-key", "acme")
    assert result.exit_code == 0, result.output
    assert "--finish" in result.output
    states = {c["state"]: c["sha256_fingerprint"] for c in show(runner)["sp_certificates"]}
    assert states["current"] == first and states["next"] != first
    metadata = sso(runner, "sp-metadata", "acme").output
    current_pem = sso(runner, "sp-certificate", "acme").output
    next_pem = sso(runner, "sp-certificate", "acme", "--next").output
    for pem in (current_pem, next_pem):
        body = "".join(line for line in pem.splitlines() if "-----" not in line)
        assert body in "".join(metadata.split())
    assert sso(runner, "rotate-sp-key", "acme").exit_code == 1  # one rotation at a time
    result = sso(runner, "rotate-sp-key", "acme", "--finish")
    assert result.exit_code == 0, result.output
    assert [(c["state"], c["sha256_fingerprint"]) for c in show(runner)["sp_certificates"]] == \
        [("current", states["next"])]
    assert sso(runner, "rotate-sp-key", "acme", "--finish").exit_code == 1
    assert sso(runner, "sp-certificate", "acme", "--next").exit_code == 1
    assert sso(runner, "rotate-sp-key", "nobody").exit_code == 1


def test_check_reports_sp_key_expiry_and_unreadable_key(runner, account, app):
    assert sso(runner, "set", "acme", "--sign-requests").exit_code == 0
    result = sso(runner, "check", "acme")
    assert result.exit_code == 0, result.output
    assert "SP certificate (current)" in result.output
    db.session.execute(update(SpKey).values(not_after=utcnow() + timedelta(days=20)))
    db.session.commit()
    result = sso(runner, "check", "acme")
    assert result.exit_code == 1
    assert "expires on" in result.output and "rotate-sp-key" in result.output
    db.session.execute(update(SpKey).values(not_after=utcnow() + timedelta(days=3000)))
    db.session.commit()
    app.config["SECRET_KEY"] = "changed"
    saml.clear_caches()
    result = sso(runner, "check", "acme")
    assert result.exit_code == 1
    assert "PORTAL_KEY_ENCRYPTION_KEY" in result.output
