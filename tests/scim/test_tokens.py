"""SCIM tokens: created once and stored hashed, listed, revoked; the service's token scoping."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from devtools.servers import flask, portal_env
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import AuditEvent, ScimToken, User
from portal.scim import tokens
from tests.helpers import csrf_token
from tests.scim.helpers import Scim


def test_a_token_is_stored_only_as_its_sha256(account):
    row, value = tokens.create_token(account, "Okta")
    db.session.commit()
    assert value.startswith("scim_") and len(value) > 40
    assert row.token_hash == hashlib.sha256(value.encode()).hexdigest()
    stored = db.session.execute(select(ScimToken.__table__)).mappings().one()
    assert value not in {str(v) for v in stored.values()}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "scim.token.created"))
    assert event.subject == "Okta" and value not in str(event.details)


def test_names_are_unique_among_active_tokens_and_revoked_ones_are_not_listed(account):
    tokens.create_token(account, "Okta")
    with pytest.raises(ServiceError):
        tokens.create_token(account, "Okta")
    second, _ = tokens.create_token(account, "Entra ID")
    tokens.revoke_token(account, second.id)
    db.session.commit()
    assert [t.name for t in tokens.list_tokens(account)] == ["Okta"]
    tokens.create_token(account, "Entra ID")  # the name is free again once revoked


def test_another_accounts_token_cannot_be_revoked_from_here(account, other_account):
    theirs, _ = tokens.create_token(other_account, "Theirs")
    db.session.commit()
    with pytest.raises(ServiceError):
        tokens.revoke_token(account, theirs.id)
    assert theirs.revoked_at is None


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer nope", "Basic dXNlcjpwdw==", "Token {token}",
                                    "Bearer {other}", "Bearer {revoked}"])
def test_missing_unknown_revoked_or_other_accounts_tokens_get_401(scim, other_token, account, header):
    revoked, revoked_value = tokens.create_token(account, "Old")
    tokens.revoke_token(account, revoked.id)
    db.session.commit()
    headers = {} if header is None else {
        "Authorization": header.format(token=scim.token, other=other_token, revoked=revoked_value)}
    response = scim.client.get(f"{scim.base}/Users", headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/scim+json"
    body = response.get_json(force=True)
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and body["status"] == "401"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # nothing filed under any account for a request without a valid token
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "scim.request.refused")) is None


def test_the_token_of_this_account_works_and_stamps_last_used(scim, account):
    assert scim.get("/Users").status_code == 200
    assert tokens.list_tokens(account)[0].last_used_at is not None


def test_a_token_works_only_under_its_own_accounts_base_url(scim, other_scim, other_account):
    assert other_scim.get("/Users").status_code == 200
    swapped = scim.client.get(f"{other_scim.base}/Users", headers={"Authorization": f"Bearer {scim.token}"})
    assert swapped.status_code == 401
    unknown_domain = scim.client.get("/scim/v2/nowhere/Users", headers={"Authorization": f"Bearer {scim.token}"})
    assert unknown_domain.status_code == 401


def _revoke_on_the_page(client, token_id: int):
    page = "/settings/security/provisioning"
    return client.post(f"{page}/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client, page),
                                                                   "confirm": "yes"})


def test_a_token_revoked_on_one_server_is_refused_at_once_on_another(app, second_server, admin_client, account):
    """DESIGN.md (turn 3): a revoked token is refused at once on every server, whatever either remembered."""
    row, value = tokens.create_token(account, "Okta")
    db.session.commit()
    elsewhere = Scim(second_server.test_client(), account.domain, value)
    here = Scim(app.test_client(), account.domain, value)
    for _ in range(3):  # warms whatever either server keeps about the token
        assert elsewhere.get("/Users").status_code == 200 and here.get("/Users").status_code == 200
    assert _revoke_on_the_page(admin_client, row.id).status_code == 302
    assert elsewhere.get("/Users").status_code == 401
    assert here.get("/Users").status_code == 401


def test_a_token_revoked_by_another_process_is_refused_by_the_very_next_request(app, account):
    """The operator's CLI in a process of its own (another server's memory is out of reach) revokes; this process,
    which has just accepted the token, refuses its very next request."""
    row, value = tokens.create_token(account, "Okta")
    db.session.commit()
    scim = Scim(app.test_client(), account.domain, value)
    for _ in range(3):
        assert scim.get("/Users").status_code == 200
    env = portal_env(db.engine.url.render_as_string(hide_password=False), app.config["BASE_URL"])
    flask(env, "scim", "token", "revoke", account.domain, str(row.id))
    assert scim.get("/Users").status_code == 401
    assert scim.post("/Users", {"userName": "ada@acme.test"}).status_code == 401
    assert db.session.scalar(select(func.count()).select_from(User)) == 1  # the account's admin only
