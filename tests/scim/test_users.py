"""/Users through the HTTP API: Okta's and Entra ID's lifecycles, uniqueness, bad input, nothing half-written."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, Role, User, UserSession
from tests.scim.helpers import assert_error, entra_user, filter_param, okta_user, patch_op


def _events(type_=None):
    query = select(AuditEvent).order_by(AuditEvent.id)
    if type_:
        query = query.where(AuditEvent.event_type == type_)
    return list(db.session.scalars(query))


def _user(email):
    return User.by_email(email)


def test_okta_lifecycle_create_profile_push_deactivate_reactivate(scim, account):
    # Okta first asks whether the person exists, then creates them.
    found = scim.get("/Users?filter=" + filter_param('userName eq "ada@acme.test"') + "&startIndex=1&count=100")
    assert found.status_code == 200 and found.get_json()["totalResults"] == 0
    created = scim.post("/Users", okta_user("Ada@Acme.test"))
    assert created.status_code == 201 and created.mimetype == "application/scim+json"
    body = created.get_json()
    assert body["userName"] == "ada@acme.test" and body["active"] is True and body["externalId"] == "00u1"
    assert body["id"] != "ada@acme.test" and "@" not in body["id"]
    assert created.headers["Location"] == body["meta"]["location"] == f"https://portal.test/scim/v2/acme/Users/{body['id']}"
    assert body["meta"]["resourceType"] == "User" and body["meta"]["created"].endswith("Z")
    assert body["emails"] == [{"value": "ada@acme.test", "type": "work", "primary": True}]
    user = _user("ada@acme.test")
    assert (user.account_id, user.created_via, user.given_name, user.family_name, user.name) == \
        (account.id, "scim", "Ada", "Lovelace", "Ada Lovelace")
    uid = body["id"]

    # Profile push: Okta PUTs the whole user.
    pushed = okta_user("ada.byron@acme.test", given="Augusta Ada", family="King")
    pushed["id"] = uid
    put = scim.put(f"/Users/{uid}", pushed)
    assert put.status_code == 200, put.get_data(as_text=True)
    assert put.get_json()["userName"] == "ada.byron@acme.test" and put.get_json()["id"] == uid
    assert _user("ada.byron@acme.test").given_name == "Augusta Ada" and _user("ada@acme.test") is None

    # Deactivate (Okta's PATCH form), then reactivate.
    off = scim.patch(f"/Users/{uid}", patch_op({"op": "replace", "value": {"active": False}}))
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert _user("ada.byron@acme.test").active is False
    on = scim.patch(f"/Users/{uid}", patch_op({"op": "replace", "value": {"active": True}}))
    assert on.status_code == 200 and on.get_json()["active"] is True
    assert [e.event_type for e in _events() if e.event_type.startswith("scim.user")] == [
        "scim.user.created", "scim.user.updated", "scim.user.deactivated", "scim.user.reactivated"]
    assert {e.actor_email for e in _events() if e.event_type.startswith("scim.user")} == {"Okta"}
    assert scim.get(f"/Users/{uid}").get_json()["active"] is True


def test_entra_lifecycle_capitalised_ops_false_strings_external_id_filter_delete(scim, account):
    created = scim.post("/Users", entra_user("grace@acme.test", external_id="7f3a-entra"))
    assert created.status_code == 201, created.get_data(as_text=True)
    uid = created.get_json()["id"]
    # Entra looks people up by externalId
    found = scim.get("/Users?filter=" + filter_param('externalId eq "7f3a-entra"'))
    assert [r["id"] for r in found.get_json()["Resources"]] == [uid]
    assert scim.get("/Users?filter=" + filter_param('externalId eq "7F3A-ENTRA"')).get_json()["totalResults"] == 0
    patched = scim.patch(f"/Users/{uid}", patch_op(
        {"op": "Replace", "path": "displayName", "value": "Amazing Grace"},
        {"op": "Add", "path": "name.familyName", "value": "Murray Hopper"},
        # the user's mail: accepted and ignored, userName stays the login identity (DESIGN.md, turn 3)
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "grace.hopper@acme.test"},
        {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
         "value": "Research"},
        {"op": "Replace", "path": "title", "value": "Commodore"}))
    assert patched.status_code == 200, patched.get_data(as_text=True)
    assert patched.get_json()["userName"] == "grace@acme.test"
    assert patched.get_json()["emails"] == [{"value": "grace@acme.test", "type": "work", "primary": True}]
    user = _user("grace@acme.test")
    assert (user.name, user.family_name) == ("Amazing Grace", "Murray Hopper")
    assert _user("grace.hopper@acme.test") is None
    off = scim.patch(f"/Users/{uid}", patch_op({"op": "Replace", "path": "active", "value": "False"}))
    assert off.status_code == 200 and _user("grace@acme.test").active is False
    on = scim.patch(f"/Users/{uid}", patch_op({"op": "replace", "path": "active", "value": "True"}))
    assert on.status_code == 200 and _user("grace@acme.test").active is True
    gone = scim.delete(f"/Users/{uid}")
    assert gone.status_code == 204 and gone.get_data() == b""
    assert_error(scim.get(f"/Users/{uid}"), 404)
    assert _user("grace@acme.test") is None
    deleted = _events("scim.user.deleted")[0]
    assert deleted.subject == "grace@acme.test"  # the audit history keeps the email
    assert_error(scim.delete(f"/Users/{uid}"), 404)


def test_created_inactive_by_entra_false_string(scim):
    created = scim.post("/Users", entra_user("late@acme.test", active="False"))
    assert created.status_code == 201 and created.get_json()["active"] is False


def test_username_taken_anywhere_in_the_portal_is_409_and_the_other_account_untouched(scim, other_account):
    from portal.models import User as U
    theirs = U.by_email("admin@globex.test")
    before = (theirs.account_id, theirs.name, theirs.active, theirs.password_hash)
    answer = scim.post("/Users", okta_user("ADMIN@globex.test"))
    assert_error(answer, 409, "uniqueness")
    db.session.expire_all()
    theirs = U.by_email("admin@globex.test")
    assert (theirs.account_id, theirs.name, theirs.active, theirs.password_hash) == before
    # the same through a rename
    uid = scim.post("/Users", okta_user("mine@acme.test")).get_json()["id"]
    assert_error(scim.patch(f"/Users/{uid}", patch_op({"op": "replace", "path": "userName",
                                                       "value": "admin@globex.test"})), 409, "uniqueness")
    assert _user("mine@acme.test") is not None
    refused = _events("scim.request.refused")
    assert [e.reason for e in refused] == ["uniqueness", "uniqueness"]
    assert all(e.account_id == scim_account_id(scim) for e in refused)


def scim_account_id(scim):
    from portal.models import Account
    return Account.by_domain(scim.domain).id


def test_another_accounts_user_answers_like_a_missing_one(scim, other_scim):
    theirs = other_scim.post("/Users", okta_user("x@globex.test")).get_json()["id"]
    for response in (scim.get(f"/Users/{theirs}"), scim.put(f"/Users/{theirs}", okta_user("x@globex.test")),
                     scim.patch(f"/Users/{theirs}", patch_op({"op": "replace", "path": "active", "value": False})),
                     scim.delete(f"/Users/{theirs}")):
        body = assert_error(response, 404)
        assert body["detail"] == f"User {theirs} not found."
    missing = assert_error(scim.get("/Users/0123456789abcdef0123456789abcdef"), 404)
    assert missing["detail"].replace("0123456789abcdef0123456789abcdef", theirs) == f"User {theirs} not found."
    assert _user("x@globex.test").active is True
    assert theirs not in str(scim.get("/Users").get_json())


BAD_CREATES = [
    ({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}, "invalidValue"),
    ({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "not an email"}, "invalidValue"),
    ({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": 42}, "invalidValue"),
    ({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "userName": "a@acme.test"}, "invalidSyntax"),
    ({"schemas": "nope", "userName": "a@acme.test"}, "invalidSyntax"),
    ({"userName": "a@acme.test", "active": "maybe"}, "invalidValue"),
    ({"userName": "a@acme.test", "emails": [{"value": 5, "primary": True}]}, "invalidValue"),
    ({"userName": "a@acme.test", "emails": "a@acme.test"}, "invalidValue"),
    ({"userName": "a@acme.test", "name": "Ada"}, "invalidValue"),
    (["not", "an", "object"], "invalidSyntax"),
]


@pytest.mark.parametrize("body, scim_type", BAD_CREATES)
def test_bad_creates_are_400_with_scim_type_and_write_nothing_but_the_refusal(scim, body, scim_type):
    count = db.session.scalar(select(func.count()).select_from(User))
    assert_error(scim.post("/Users", body), 400, scim_type)
    assert db.session.scalar(select(func.count()).select_from(User)) == count
    assert [e.event_type for e in _events() if e.event_type.startswith("scim.") and
            e.event_type != "scim.token.created"] == ["scim.request.refused"]
    assert _events("scim.request.refused")[0].reason == scim_type


@pytest.mark.parametrize("raw", [b"{", b"\xff\xfe", b'{"userName": "a@acme.test",}'])
def test_invalid_json_is_400_invalid_syntax(scim, raw):
    assert_error(scim.request("POST", "/Users", raw=raw), 400, "invalidSyntax")


def test_other_content_types_are_refused_but_json_is_fine(scim):
    response = scim.client.post(f"{scim.base}/Users", data="userName=a@acme.test", headers=scim.headers(),
                                content_type="application/x-www-form-urlencoded")
    assert_error(response, 400, "invalidSyntax")
    response = scim.client.post(f"{scim.base}/Users", json=okta_user("j@acme.test"), headers=scim.headers())
    assert response.status_code == 201 and response.mimetype == "application/scim+json"


BAD_PATCHES = [
    ({"Operations": []}, "invalidSyntax"),
    ({"schemas": ["urn:wrong"], "Operations": [{"op": "replace", "path": "active", "value": False}]}, "invalidSyntax"),
    (patch_op({"op": "frobnicate", "path": "active", "value": False}), "invalidSyntax"),
    (patch_op({"op": "replace", "path": "active"}), "invalidValue"),
    (patch_op({"op": "replace", "path": "active", "value": "yes"}), "invalidValue"),
    (patch_op({"op": "replace", "path": "active", "value": 1}), "invalidValue"),
    (patch_op({"op": "replace", "path": "nonsense[", "value": 1}), "invalidPath"),
    (patch_op({"op": "replace", "path": "favouriteColour", "value": "red"}), "invalidPath"),
    (patch_op({"op": "replace", "path": "id", "value": "other"}), "mutability"),
    (patch_op({"op": "replace", "value": {"meta": {"created": "2020-01-01T00:00:00Z"}}}), "mutability"),
    (patch_op({"op": "add", "path": "groups", "value": [{"value": "x"}]}), "mutability"),
    (patch_op({"op": "remove"}), "noTarget"),
    (patch_op({"op": "remove", "path": "userName"}), "invalidValue"),
    (patch_op({"op": "replace", "path": "userName", "value": "nope"}), "invalidValue"),
    (patch_op({"op": "replace", "value": "not an object"}), "invalidValue"),
    # the first operation is valid: nothing of it may be written when the second is refused
    (patch_op({"op": "replace", "path": "displayName", "value": "Changed"},
              {"op": "replace", "path": "active", "value": "nope"}), "invalidValue"),
]


@pytest.mark.parametrize("body, scim_type", BAD_PATCHES)
def test_bad_patches_are_refused_and_change_nothing(scim, body, scim_type):
    uid = scim.post("/Users", okta_user("p@acme.test")).get_json()["id"]
    before = scim.get(f"/Users/{uid}").get_json()
    assert_error(scim.patch(f"/Users/{uid}", body), 400, scim_type)
    assert scim.get(f"/Users/{uid}").get_json() == before


def test_patch_repeating_own_id_is_accepted_and_unchanged_values_write_no_event(scim):
    uid = scim.post("/Users", okta_user("same@acme.test")).get_json()["id"]
    same = scim.patch(f"/Users/{uid}", patch_op({"op": "replace", "value": {"id": uid, "active": True}}))
    assert same.status_code == 200
    assert _events("scim.user.updated") == []


def test_put_changing_id_is_mutability(scim):
    uid = scim.post("/Users", okta_user("m@acme.test")).get_json()["id"]
    body = okta_user("m@acme.test")
    body["id"] = "something-else"
    assert_error(scim.put(f"/Users/{uid}", body), 400, "mutability")


def test_patch_remove_and_add_without_path(scim):
    uid = scim.post("/Users", okta_user("n@acme.test")).get_json()["id"]
    scim.patch(f"/Users/{uid}", patch_op({"op": "remove", "path": "externalId"},
                                         {"op": "add", "value": {"name.givenName": "Nia", "displayName": "Nia"}}))
    user = _user("n@acme.test")
    assert (user.external_id, user.given_name, user.name) == (None, "Nia", "Nia")
    assert "externalId" not in scim.get(f"/Users/{uid}").get_json()


def test_scim_may_deactivate_and_delete_the_last_account_admin_with_a_warning(scim, admin, account):
    uid = admin.scim_id
    answer = scim.patch(f"/Users/{uid}", patch_op({"op": "replace", "path": "active", "value": False}))
    assert answer.status_code == 200
    event = _events("scim.user.deactivated")[0]
    assert (event.outcome, event.reason) == ("warning", "last_account_admin")
    assert scim.delete(f"/Users/{uid}").status_code == 204
    event = _events("scim.user.deleted")[0]
    assert (event.outcome, event.reason, event.subject) == ("warning", "last_account_admin", "admin@acme.test")


def test_deactivation_ends_sessions_and_reactivation_does_not_revive_them(scim, member_client, member):
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 1
    uid = member.scim_id
    scim.patch(f"/Users/{uid}", patch_op({"op": "replace", "path": "active", "value": False}))
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0
    scim.patch(f"/Users/{uid}", patch_op({"op": "replace", "path": "active", "value": True}))
    response = member_client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_default_role_is_granted_to_scim_created_users(scim, account):
    account.default_role_id = Role.by_name("Analyst").id
    db.session.commit()
    scim.post("/Users", okta_user("new@acme.test"))
    assert [r.name for r in _user("new@acme.test").roles] == ["Analyst"]
    assert _events("scim.user.created")[0].details["roles"] == ["Analyst"]


def test_deactivated_through_scim_cannot_sign_in_by_password_or_sso_until_reactivated(scim, client, member, account):
    from portal.directory.provisioning import ProvisioningError, preview_user
    from tests.helpers import login

    scim.patch(f"/Users/{member.scim_id}", patch_op({"op": "Replace", "path": "active", "value": "False"}))
    response = login(client, member.email)
    assert response.status_code == 200 and "Wrong email or password." in response.get_data(as_text=True)
    with pytest.raises(ProvisioningError) as refused:
        preview_user(account, member.email, auto_create=True)
    assert refused.value.code == "user_inactive"
    scim.patch(f"/Users/{member.scim_id}", patch_op({"op": "Replace", "path": "active", "value": "True"}))
    assert login(client, member.email).status_code == 302


def test_default_role_is_granted_to_users_sso_auto_creates(account):
    from datetime import datetime

    from portal.directory.provisioning import sign_in_user
    from portal.sso import acs_account

    account.default_role_id = Role.by_name("Billing").id
    db.session.commit()
    snapshot = acs_account.load("acme")
    assert snapshot.default_role_id == account.default_role_id
    user, created = sign_in_user(snapshot, "fresh@acme.test", {}, auto_create=True, at=datetime(2026, 1, 1))
    db.session.commit()
    assert created and [r.name for r in _user("fresh@acme.test").roles] == ["Billing"]
    event = _events("user.created")[-1]
    assert event.details["roles"] == ["Billing"]


def test_scim_deactivation_throws_an_open_browser_session_out_at_the_next_click(scim, member_client, member):
    assert member_client.get("/").status_code == 200
    assert scim.patch(f"/Users/{member.scim_id}",
                      patch_op({"op": "replace", "value": {"active": False}})).status_code == 200
    response = member_client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# ---- DESIGN.md (turn 3): userName is the login identity; an emails entry that differs is accepted and ignored.

UPN = "ada@contoso.onmicrosoft.com"
MAIL = "ada.lovelace@contoso.com"


def _entra(emails, **extra) -> dict:
    """What Entra ID sends when userName maps the UPN and emails[type eq "work"].value the mail."""
    body = entra_user(UPN, external_id="7f3a")
    body.update({"emails": emails, "name": {"formatted": "Lady Ada", "givenName": "Ada", "familyName": "Lovelace"},
                 "displayName": "Ada Lovelace", **extra})
    return body


@pytest.mark.parametrize("emails", [
    [{"type": "work", "primary": True, "value": MAIL}],
    [{"type": "work", "primary": "True", "value": MAIL}],
    [{"type": "work", "value": MAIL}],
    [{"value": MAIL}],
    [{"type": "home", "value": "ada@home.test"}, {"type": "work", "primary": True, "value": MAIL}],
    [{"type": "work", "primary": True, "value": "not an email"}],
])
def test_entra_upn_with_a_differing_mail_is_created_and_updated_and_the_mail_ignored(scim, emails):
    created = scim.post("/Users", _entra(emails))
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert body["userName"] == UPN
    assert body["emails"] == [{"value": UPN, "type": "work", "primary": True}]
    assert body["name"] == {"givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace"}
    assert _user(UPN) is not None and _user(MAIL) is None
    replaced = scim.put(f"/Users/{body['id']}", _entra(emails, id=body["id"], active=False))
    assert replaced.status_code == 200, replaced.get_data(as_text=True)
    assert replaced.get_json()["userName"] == UPN and replaced.get_json()["active"] is False
    assert replaced.get_json()["emails"] == [{"value": UPN, "type": "work", "primary": True}]
    assert scim.get(f"/Users/{body['id']}").get_json()["emails"] == [{"value": UPN, "type": "work", "primary": True}]
    assert _events("scim.request.refused") == []


@pytest.fixture
def entra_idp(tmp_path):
    from devtools.saml_idp import TestIdp, make_keypair
    return TestIdp(make_keypair(tmp_path / "idp", "entra", "Entra test"))


def test_entra_patch_of_the_work_mail_keeps_the_upn_username_and_sso_login_by_the_upn(scim, client, account,
                                                                                      entra_idp):
    """Entra ID PATCHes emails[type eq "work"].value with the user's mail. It once replaced the UPN userName, so the
    NameID the IdP sends (the UPN) found nobody: the user was locked out of SSO."""
    from tests.sso.helpers import Flow, assert_refused, configure_sso, sso_events

    uid = scim.post("/Users", _entra([{"type": "work", "primary": True, "value": UPN}])).get_json()["id"]
    patched = scim.patch(f"/Users/{uid}", patch_op(
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": MAIL},
        {"op": "Replace", "path": "displayName", "value": "Ada King"}))
    assert patched.status_code == 200, patched.get_data(as_text=True)
    body = patched.get_json()
    assert body["userName"] == UPN and body["displayName"] == "Ada King"
    assert body["emails"] == [{"value": UPN, "type": "work", "primary": True}]
    assert scim.get(f"/Users/{uid}").get_json()["emails"] == [{"value": UPN, "type": "work", "primary": True}]
    db.session.expire_all()
    assert _user(UPN).scim_id == uid and _user(MAIL) is None
    assert _events("scim.request.refused") == []

    configure_sso(account, entra_idp)
    flow = Flow(client, entra_idp, account)
    assert_refused(flow, flow.login(MAIL), "user_not_found")  # the mail is no login identity here
    assert flow.login(UPN).status_code == 303  # signed in: the IdP's NameID is the UPN
    assert [e.subject for e in sso_events(account, "success")] == [UPN]


def test_name_formatted_is_built_from_given_and_family_name_in_answers(scim):
    both = scim.post("/Users", _entra([])).get_json()
    assert both["name"]["formatted"] == "Ada Lovelace"  # not the "Lady Ada" that was sent
    only_display = scim.post("/Users", {"userName": "grace@acme.test", "displayName": "Amazing Grace"}).get_json()
    assert only_display["name"] == {"givenName": "", "familyName": "", "formatted": ""}
    assert only_display["displayName"] == "Amazing Grace"
    family = scim.patch(f"/Users/{only_display['id']}", patch_op({"op": "add", "path": "name.familyName",
                                                                  "value": "Hopper"})).get_json()
    assert family["name"]["formatted"] == "Hopper"
