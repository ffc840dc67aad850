"""The fast path for plain /Users bodies gives the same fields (and the same refusals) as scim2-models' model."""
from __future__ import annotations

import copy

import pytest

from portal.scim import fastbody, resources
from portal.scim.errors import ScimError
from tests.scim.helpers import ENTERPRISE, USER, entra_user, okta_user

OKTA = okta_user("ada@acme.test")
PLAIN = [
    OKTA,
    okta_user("grace@acme.test", given="", family="Hopper", external_id="", active=False),
    {"schemas": [USER], "userName": "min@acme.test"},
    {"userName": "noschemas@acme.test", "active": True},
    {"schemas": [USER], "userName": "named@acme.test", "name": {"givenName": "A", "formatted": "F", "middleName": "M"}},
    {"schemas": [USER], "userName": "blank@acme.test", "displayName": "", "name": {}},
    {"schemas": [USER], "userName": "", "displayName": "Nobody"},
    {"schemas": [USER], "userName": "  Spaced@Acme.test ", "externalId": "x"},
    {"schemas": [USER], "userName": "long@acme.test", "name": {"givenName": "G" * 300, "familyName": "F" * 300}},
    {"schemas": [USER], "userName": "primary@acme.test",  # refused by the primary-email rule both paths share
     "emails": [{"primary": True, "value": "other@acme.test"}]},
]
OTHER = [  # not plain: the model decides (and must answer as before)
    entra_user("entra@acme.test", active="False"),
    {"schemas": [USER, ENTERPRISE], "userName": "ext@acme.test"},
    {"schemas": [USER], "userName": "null@acme.test", "displayName": None, "active": None},
    {"schemas": [USER], "userName": "str@acme.test", "active": "false"},
    {"schemas": [USER], "userName": "groups@acme.test", "groups": [{"value": "x"}]},
    {"schemas": [USER], "userName": "url@acme.test", "profileUrl": "not a url"},
    {"schemas": [USER], "userName": 42},
    {"schemas": [USER], "displayName": "No userName"},
    {"schemas": [USER], "userName": "badname@acme.test", "name": "Ada"},
    {"schemas": [USER], "userName": "num@acme.test", "name": {"givenName": 1}},
    {"schemas": [USER], "username": "lower@acme.test"},
    {"schemas": [USER], "userName": "id@acme.test", "id": "abc", "meta": {}},
]
BODIES = PLAIN + OTHER


def _answer(body, replacing):
    try:
        return resources.user_fields(copy.deepcopy(body), replacing)
    except ScimError as exc:
        return exc.status, exc.body()


@pytest.mark.parametrize("replacing", [False, True])
@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_the_fast_path_answers_as_the_model(body, replacing, monkeypatch):
    fast = _answer(body, replacing)
    monkeypatch.setattr(fastbody, "user_fields", lambda *_: None)  # the plain path only
    assert fast == _answer(body, replacing)


@pytest.mark.parametrize("body", PLAIN, ids=range(len(PLAIN)))
def test_plain_bodies_take_the_fast_path(body):
    assert fastbody.user_fields({k: v for k, v in body.items() if k != "emails"}, False) is not None


@pytest.mark.parametrize("body", OTHER, ids=range(len(OTHER)))
def test_anything_else_goes_to_the_model(body):
    assert fastbody.user_fields({k: v for k, v in body.items() if k != "emails"}, False) is None
