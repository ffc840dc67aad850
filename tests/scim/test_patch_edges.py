"""PATCH /Users edge cases: bad name sub-attributes are 400 (not 500), and no emails operation changes userName.

DESIGN.md (turn 3): userName is the login identity (the NameID the IdP sends); an emails entry that differs from it
is accepted and ignored, never refused, and answers list userName as the one primary work email. So every emails
operation, primary or not, remove included, is accepted and ignored; only a userName operation changes userName.
Its shape is still checked: a filter the portal cannot answer, or a malformed value, is still 400.
"""
from __future__ import annotations

import pytest

from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, User
from tests.scim.helpers import assert_error, okta_user, patch_op

OLD = "old@acme.test"
NEW = "new@acme.test"


def _user_id(scim) -> str:
    return scim.post("/Users", okta_user(OLD)).get_json()["id"]


def _refusals() -> list[str]:
    return [e.reason for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.event_type == "scim.request.refused"))]


BAD_NAME_KEYS = ["bad key", "", " ", "a.b", "[x]", "givenName[x]", "a b.c"]


@pytest.mark.parametrize("key", BAD_NAME_KEYS)
@pytest.mark.parametrize("form", ["path", "no path", "no path, core schema"])
def test_a_name_sub_attribute_that_is_no_attribute_name_is_400_invalid_path_and_writes_nothing(scim, key, form):
    uid = _user_id(scim)
    before = scim.get(f"/Users/{uid}").get_json()
    # a valid sub-attribute first: the refused one must keep it from being written too
    name = {"givenName": "Changed", key: "x"}
    operation = {
        "path": {"op": "replace", "path": "name", "value": name},
        "no path": {"op": "add", "value": {"name": name}},
        "no path, core schema": {"op": "add", "value": {"urn:ietf:params:scim:schemas:core:2.0:User": {"name": name}}},
    }[form]
    assert_error(scim.patch(f"/Users/{uid}", patch_op(operation)), 400, "invalidPath")
    assert scim.get(f"/Users/{uid}").get_json() == before
    assert _refusals() == ["invalidPath"]


def test_an_unknown_but_well_formed_name_sub_attribute_is_invalid_path_too(scim):
    uid = _user_id(scim)
    assert_error(scim.patch(f"/Users/{uid}", patch_op({"op": "replace", "path": "name", "value": {"nickName": "x"}})),
                 400, "invalidPath")


EMAILS_OPS = [
    # other emails than the one kept ({value: userName, type: "work", primary: true})
    {"op": "add", "path": "emails[type eq \"home\"].value", "value": "home1@acme.test"},
    {"op": "replace", "path": "emails[primary eq false].value", "value": "x@acme.test"},
    {"op": "replace", "path": "emails[type eq \"work\" and primary eq false].value", "value": "x@acme.test"},
    {"op": "replace", "path": "emails[value eq \"someone.else@acme.test\"].value", "value": "x@acme.test"},
    {"op": "replace", "path": "emails[not (type eq \"work\")].value", "value": "x@acme.test"},
    {"op": "add", "path": "emails[type eq \"other\"]", "value": [{"value": "o@acme.test", "type": "other"}]},
    {"op": "replace", "path": "emails[display co \"x\"].value", "value": "x@acme.test"},
    {"op": "replace", "path": "emails[type eq null].value", "value": "x@acme.test"},
    {"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "o@acme.test"}},
    {"op": "add", "path": "emails", "value": [{"value": "h@acme.test", "type": "home", "primary": False}]},
    {"op": "add", "path": "emails", "value": [{"value": "h@acme.test", "type": "home"}]},
    {"op": "add", "path": "emails", "value": [{"value": "h@acme.test", "primary": False}]},
    {"op": "add", "path": "emails", "value": [{"value": "h@acme.test", "type": "work", "primary": "False"}]},
    {"op": "add", "path": "emails", "value": [{"value": "h@acme.test", "primary": "false"}]},
    {"op": "add", "path": "emails", "value": [{"value": "h@acme.test", "type": "home", "primary": "False"},
                                             {"value": "o@acme.test", "type": "other", "primary": "False"}]},
    {"op": "add", "value": {"emails": [{"value": "h@acme.test", "type": "home", "primary": False}]}},
    {"op": "Add", "value": {"emails": [{"value": "h@acme.test", "type": "work", "primary": "False"}]}},
    {"op": "remove", "path": "emails[type eq \"home\"]"},
    {"op": "remove", "path": "emails[type eq \"home\"].value"},
    # the primary one: these changed userName before turn 3 (Entra ID's form first)
    {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": NEW},
    {"op": "replace", "path": "emails[primary eq true].value", "value": NEW},
    {"op": "replace", "path": "emails[type eq \"work\" and primary eq true].value", "value": NEW},
    {"op": "replace", "path": "emails[type eq \"WORK\"].value", "value": NEW},
    {"op": "replace", "path": "emails[primary eq \"True\" and display ne \"x\" and type pr].value", "value": NEW},
    {"op": "replace", "path": f"emails[value eq \"{OLD.upper()}\"].value", "value": NEW},
    {"op": "replace", "path": "emails[type eq \"work\"]", "value": {"value": NEW}},
    {"op": "replace", "path": "emails[type eq \"work\"]", "value": [{"value": NEW, "type": "work", "primary": True}]},
    {"op": "replace", "path": "emails", "value": [{"value": NEW, "type": "work", "primary": True}]},
    {"op": "replace", "path": "emails", "value": [{"value": "h@acme.test", "type": "home"},
                                                 {"value": NEW, "primary": "true"}]},
    {"op": "replace", "path": "emails", "value": [{"value": NEW, "primary": "TRUE"}]},
    {"op": "replace", "path": "emails", "value": [{"value": NEW}]},
    {"op": "replace", "path": "emails", "value": [{"value": NEW, "type": "work"}]},
    {"op": "replace", "value": {"emails": [{"value": NEW, "primary": True}]}},
    {"op": "replace", "path": "emails.value", "value": NEW},
    {"op": "add", "path": "emails", "value": [{"value": NEW, "type": "work", "primary": True}]},
    {"op": "Add", "path": "emails[type eq \"work\"].value", "value": ""},
    {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"work\"].value",
     "value": NEW},
    {"op": "replace", "value": {"urn:ietf:params:scim:schemas:core:2.0:User": {"emails": [{"value": NEW}]}}},
    {"op": "replace", "value": {"emails[type eq \"work\"].value": NEW}},
    # removing the primary one (refused before turn 3)
    {"op": "remove", "path": "emails[type eq \"work\"]"},
    {"op": "Remove", "path": "emails[type eq \"work\"].value"},
    {"op": "remove", "path": "emails"},
    {"op": "remove", "path": "emails.value"},
]


@pytest.mark.parametrize("operation", EMAILS_OPS)
def test_an_emails_operation_is_accepted_and_ignored_and_never_changes_the_username(scim, operation):
    uid = _user_id(scim)
    answer = scim.patch(f"/Users/{uid}", patch_op(operation))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["userName"] == OLD
    assert answer.get_json()["emails"] == [{"value": OLD, "type": "work", "primary": True}]
    db.session.expire_all()
    assert User.by_email(OLD) is not None and User.by_email(NEW) is None
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == "scim.user.updated")).all() == []
    assert _refusals() == []


def test_only_a_username_operation_changes_the_username_and_emails_beside_it_are_ignored(scim):
    uid = _user_id(scim)
    answer = scim.patch(f"/Users/{uid}", patch_op(
        {"op": "replace", "path": "userName", "value": "mid@acme.test"},
        {"op": "replace", "path": "emails[value eq \"mid@acme.test\"].value", "value": NEW},
        {"op": "replace", "path": "emails", "value": [{"value": NEW, "type": "work", "primary": True}]}))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["userName"] == "mid@acme.test"
    assert answer.get_json()["emails"] == [{"value": "mid@acme.test", "type": "work", "primary": True}]
    db.session.expire_all()
    assert User.by_email("mid@acme.test") is not None and User.by_email(NEW) is None and User.by_email(OLD) is None


MALFORMED_EMAILS = [
    {"op": "replace", "path": "emails[type eq \"work\"].value", "value": 5},
    {"op": "replace", "path": "emails[primary eq true].value", "value": None},
    {"op": "replace", "path": "emails[type eq \"work\"]", "value": [1]},
    {"op": "replace", "path": "emails[type eq \"work\"]", "value": {"value": 5}},
    {"op": "replace", "path": "emails", "value": "new@acme.test"},
    {"op": "replace", "path": "emails", "value": [1]},
    {"op": "replace", "path": "emails", "value": [{"value": 5, "primary": True}]},
    {"op": "add", "value": {"emails": 5}},
    {"op": "replace", "path": "emails.value", "value": ["new@acme.test"]},
]


@pytest.mark.parametrize("operation", MALFORMED_EMAILS)
def test_a_malformed_emails_value_is_still_400_invalid_value_and_writes_nothing(scim, operation):
    uid = _user_id(scim)
    before = scim.get(f"/Users/{uid}").get_json()
    # a valid change first: the refused operation must keep it from being written too
    answer = scim.patch(f"/Users/{uid}", patch_op({"op": "replace", "path": "displayName", "value": "Changed"},
                                                  operation))
    assert_error(answer, 400, "invalidValue")
    assert scim.get(f"/Users/{uid}").get_json() == before


@pytest.mark.parametrize("path, scim_type", [
    ("emails[nickname eq \"x\"].value", "invalidFilter"),
    ("emails[type gt 5].value", "invalidFilter"),
    ("emails[primary co \"t\"].value", "invalidFilter"),
])
def test_an_email_filter_the_portal_cannot_answer_is_400_and_writes_nothing(scim, path, scim_type):
    uid = _user_id(scim)
    before = scim.get(f"/Users/{uid}").get_json()
    assert_error(scim.patch(f"/Users/{uid}", patch_op({"op": "replace", "path": path, "value": NEW})), 400, scim_type)
    assert scim.get(f"/Users/{uid}").get_json() == before


@pytest.mark.parametrize("primary", ["TRUE", "true", True, "False", False])
def test_post_accepts_and_ignores_an_email_other_than_the_username_however_primary_is_written(scim, primary):
    """DESIGN.md (turn 3): an emails entry that differs from userName is accepted and ignored, never refused."""
    body = okta_user("p@acme.test")
    body["emails"] = [{"value": "other@acme.test", "type": "work", "primary": primary}]
    answer = scim.post("/Users", body)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.get_json()["emails"] == [{"value": "p@acme.test", "type": "work", "primary": True}]


def test_a_long_username_written_by_patch_is_kept_whole(scim):
    """Cutting it at 200 characters stored another login identity (…@example.c); PUT and POST keep it whole."""
    uid = scim.post("/Users", okta_user("ada@acme.test")).get_json()["id"]
    long_email = "a" * 60 + "@" + ".".join(["b" * 60, "c" * 60, "d" * 45]) + ".test"
    assert len(long_email) > 200
    answer = scim.patch(f"/Users/{uid}", patch_op({"op": "replace", "path": "userName", "value": long_email}))
    assert answer.status_code == 200 and answer.get_json()["userName"] == long_email
    too_long = "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".test"
    assert_error(scim.patch(f"/Users/{uid}", patch_op({"op": "replace", "path": "userName", "value": too_long})),
                 400, "invalidValue")
    assert scim.get(f"/Users/{uid}").get_json()["userName"] == long_email
