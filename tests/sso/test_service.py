"""start_login() and complete_login() without the client."""
from __future__ import annotations

import pytest

from devtools.saml_idp import GROUP_ATTRIBUTE, post_form
from portal.extensions import db
from portal.models import PendingAuthnRequest
from portal.sso import service
from portal.directory.provisioning import name_from_attributes
from portal.sso.reasons import Reason


def _acs_data(xml: str) -> dict:
    return {"https": "on", "http_host": "portal.test", "script_name": "/login/saml/acme/callback",
            "post_data": post_form(xml), "get_data": {}}


def test_complete_login_returns_user_target_and_attributes(sso_account, idp, admin):
    url = service.start_login(sso_account, "/admin/audit").url
    db.session.commit()
    request = idp.receive(service.saml.sp_metadata(sso_account), url)
    xml = idp.response(request, "admin@acme.test", groups=["Eng", "Data Science"])
    result = service.complete_login(sso_account, _acs_data(xml))
    assert isinstance(result, service.SignedIn)
    db.session.commit()
    assert result.user.id == admin.id and result.next_url == "/admin/audit" and result.created is False
    assert result.groups == ("Eng", "Data Science")
    assert result.assertion.attributes[GROUP_ATTRIBUTE] == ["Eng", "Data Science"]
    assert result.assertion.attributes["firstName"] == ["Jane"]
    assert db.session.get(PendingAuthnRequest, request.request_id) is None


def test_no_groups_attribute_gives_empty_groups(sso_account, idp, admin):
    url = service.start_login(sso_account, None).url
    request = idp.receive(service.saml.sp_metadata(sso_account), url)
    result = service.complete_login(sso_account, _acs_data(idp.response(request, "admin@acme.test", groups=())))
    assert result.groups == () and result.next_url == "/"


def test_start_login_refuses_when_sso_is_off(account):
    with pytest.raises(service.SsoError) as info:
        service.start_login(account, "/")
    assert info.value.reason is Reason.SSO_DISABLED


def test_failure_is_refused_with_reference(sso_account, idp):
    url = service.start_login(sso_account, None).url
    request = idp.receive(service.saml.sp_metadata(sso_account), url)
    result = service.complete_login(sso_account, _acs_data(idp.response(request, "nobody@acme.test")))
    assert isinstance(result, service.Refused) and result.reason is Reason.USER_NOT_FOUND
    assert result.reference.startswith("SSO-") and result.status == 400 and not result.test


@pytest.mark.parametrize("attributes, name", [
    ({"firstName": ["Ada"], "lastName": ["Lovelace"]}, "Ada Lovelace"),
    ({"displayName": ["Countess Ada"], "firstName": ["Ada"]}, "Countess Ada"),
    ({"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname": ["Ada"],
      "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname": ["L."]}, "Ada L."),
    ({"urn:oid:2.5.4.42": ["Ada"]}, "Ada"),
    ({"Group": ["Eng"]}, ""),
    ({"firstName": ["  "]}, ""),
])
def test_name_from_attributes(attributes, name):
    assert name_from_attributes(attributes) == name


def test_every_reason_has_user_message_and_fix():
    for reason in Reason:
        assert reason.user_message and reason.admin_fix
        fix = reason.fix_for({})
        assert "{" not in fix and "}" not in fix, reason  # every placeholder is filled
        assert ("(not set)" in fix) == ("{" in reason.admin_fix), reason  # ... with "(not set)" when unknown
