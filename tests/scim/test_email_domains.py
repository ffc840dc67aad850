"""SCIM at another account's DNS-verified email domain: 409 uniqueness, like an email taken elsewhere."""
from __future__ import annotations

from portal.accounts import email_domains
from portal.extensions import db
from portal.models import AuditEvent, User
from tests.scim.helpers import assert_error, okta_user, patch_op


def test_scim_cannot_create_or_rename_users_into_another_accounts_verified_domain(scim, other_account, dns_zone):
    email_domains.set_domains(other_account, ["globex.example"])
    db.session.commit()
    row = email_domains.get_domain(other_account, "globex.example")
    # Before globex proves the domain, acme's IdP may provision there (nothing is proven yet).
    assert scim.post("/Users", okta_user("early@globex.example")).status_code == 201
    dns_zone.set_txt("globex.example", f"portal-verification={row.token}")
    assert email_domains.check(other_account, "globex.example").verified
    db.session.commit()
    answer = scim.post("/Users", okta_user("jane@Globex.example"))
    assert "another account has verified" in assert_error(answer, 409, "uniqueness")["detail"]
    assert User.by_email("jane@globex.example") is None
    uid = scim.post("/Users", okta_user("mine@acme.test", external_id="00u2")).get_json()["id"]
    assert_error(scim.patch(f"/Users/{uid}", patch_op({"op": "replace", "path": "userName",
                                                       "value": "jane@globex.example"})), 409, "uniqueness")
    assert User.by_email("mine@acme.test") is not None and User.by_email("jane@globex.example") is None
    refused = db.session.query(AuditEvent).filter_by(event_type="scim.request.refused").all()
    assert [e.reason for e in refused] == ["uniqueness", "uniqueness"]
