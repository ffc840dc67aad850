"""Stored XSS: what an IdP or an admin typed is shown as text on every page that shows it, never as markup."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import utcnow
from tests.helpers import login
from tests.sso.helpers import last_failure

PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']
PAGES = ["/admin/audit", "/admin/audit?type=sso.login", "/settings/security/sso"]


def _no_markup(html: str) -> None:
    for payload in PAYLOADS:
        assert payload not in html
    assert "<script>alert" not in html and "<img src=x" not in html


@pytest.mark.parametrize("payload", PAYLOADS)
def test_attribute_names_and_values_from_the_idp_are_text(flow, admin, payload):
    # A refused login (unknown user) keeps what the IdP sent, attribute names included, for the admin to read.
    flow.account.sso_config.auto_create_users = False
    db.session.commit()
    response = flow.login("nobody@acme.test", attributes={payload: [payload], "Department": [payload]},
                          first_name=payload, groups=[payload])
    assert response.status_code == 400
    _no_markup(response.get_data(as_text=True))
    login(flow.client, admin.email)
    for page in PAGES:
        answer = flow.client.get(page)
        assert answer.status_code == 200, page
        _no_markup(answer.get_data(as_text=True))
    assert last_failure(flow.account).reason == "user_not_found"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_stored_metadata_url_is_text(admin_client, sso_account, payload):
    # However a value reached the row (an older version's check, an operator's SQL), the page escapes it.
    sso_account.sso_config.idp_metadata_url = f"https://idp.example/metadata?{payload}"
    sso_account.sso_config.metadata_refresh_error = f"The server answered {payload}"
    sso_account.sso_config.metadata_refreshed_at = utcnow()
    db.session.commit()
    answer = admin_client.get("/settings/security/sso")
    assert answer.status_code == 200
    _no_markup(answer.get_data(as_text=True))
    assert "https://idp.example/metadata?" in answer.get_data(as_text=True)
