"""PATCH /Users edge cases: bad name sub-attributes are 400 (not 500)."""
from __future__ import annotations

import pytest

from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent
from tests.scim.helpers import assert_error, okta_user, patch_op

OLD = "old@acme.test"


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


@pytest.mark.parametrize("primary, status", [("TRUE", 400), ("true", 400), (True, 400), ("False", 201),
                                             (False, 201)])
def test_post_reads_primary_the_same_way(scim, primary, status):
    body = okta_user("p@acme.test")
    body["emails"] = [{"value": "other@acme.test", "type": "work", "primary": primary}]
    answer = scim.post("/Users", body)
    assert answer.status_code == status, answer.get_data(as_text=True)
    if status == 400:
        assert_error(answer, 400, "invalidValue")
