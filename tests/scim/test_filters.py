"""Filters, paging and attributes on /Users: the RFC grammar answered in SQL on the account's rows only."""
from __future__ import annotations

import pytest
from scim2_models import ScimFilter
from sqlalchemy import event

from portal.extensions import db
from portal.scim import filters
from tests.scim.helpers import assert_error, filter_param, okta_user


@pytest.fixture
def people(scim, other_scim):
    ids = {}
    for email, given, ext, active in [("ann@acme.test", "Ann", "e-ann", True), ("bob@acme.test", "Bob", "e-bob", True),
                                      ("cy@acme.test", "Cy", "e-cy", False), ("dee_50%@acme.test", "Dee", None, True)]:
        body = okta_user(email, given=given, family="Smith", active=active)
        if ext is None:
            body.pop("externalId")
        else:
            body["externalId"] = ext
        ids[email] = scim.post("/Users", body).get_json()["id"]
    other_scim.post("/Users", okta_user("ann@globex.test", given="Ann"))
    return ids


def _emails(scim, expression, extra=""):
    response = scim.get("/Users?filter=" + filter_param(expression) + extra)
    assert response.status_code == 200, response.get_data(as_text=True)
    return sorted(r["userName"] for r in response.get_json()["Resources"])


CASES = [
    ('userName eq "ANN@acme.test"', ["ann@acme.test"]),
    ('userName ne "ann@acme.test"', ["admin@acme.test", "bob@acme.test", "cy@acme.test", "dee_50%@acme.test"]),
    ('userName co "50%"', ["dee_50%@acme.test"]),
    ('userName sw "b"', ["bob@acme.test"]),
    ('userName ew "@ACME.test" and name.givenName eq "ann"', ["ann@acme.test"]),
    ('externalId pr', ["ann@acme.test", "bob@acme.test", "cy@acme.test"]),
    ('not (externalId pr)', ["admin@acme.test", "dee_50%@acme.test"]),
    ('externalId ne "e-ann"', ["admin@acme.test", "bob@acme.test", "cy@acme.test", "dee_50%@acme.test"]),
    ('userName gt "bob@acme.test"', ["cy@acme.test", "dee_50%@acme.test"]),
    ('userName ge "bob@acme.test" and userName le "cy@acme.test"', ["bob@acme.test", "cy@acme.test"]),
    ('userName lt "b"', ["admin@acme.test", "ann@acme.test"]),
    ('active eq false', ["cy@acme.test"]),
    ('active eq true and (displayName co "ann" or displayName co "bob")', ["ann@acme.test", "bob@acme.test"]),
    ('emails.value eq "bob@acme.test"', ["bob@acme.test"]),
    ('emails[type eq "work" and value eq "bob@acme.test"]', ["bob@acme.test"]),
    ('emails[type eq "home" and value eq "bob@acme.test"]', []),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "cy@acme.test"', ["cy@acme.test"]),
    ('meta.lastModified gt "2000-01-01T00:00:00Z" and userName eq "ann@acme.test"', ["ann@acme.test"]),
    ('meta.lastModified lt "2000-01-01T00:00:00Z"', []),
    ('USERNAME EQ "bob@acme.test"', ["bob@acme.test"]),
]


@pytest.mark.parametrize("expression, expected", CASES)
def test_filters_answer_within_the_account(scim, people, expression, expected):
    assert _emails(scim, expression) == expected


def test_id_filter(scim, people):
    assert _emails(scim, f'id eq "{people["bob@acme.test"]}"') == ["bob@acme.test"]


@pytest.mark.parametrize("expression", [
    'userName eqq "x"', 'userName eq', '(userName eq "x"', 'favourite eq "x"', 'active gt true', 'userName eq 3',
    'meta.lastModified gt "yesterday"', 'phoneNumbers[value eq "1"]', 'userName co null', "x" * 3000,
    'urn:example:ext:foo eq "x"'])
def test_filters_it_cannot_answer_are_400_invalid_filter(scim, people, expression):
    assert_error(scim.get("/Users?filter=" + filter_param(expression)), 400, "invalidFilter")


def test_filtering_is_one_sql_query_with_a_where_clause_never_python(app, scim, people):
    statements = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        assert _emails(scim, 'userName eq "bob@acme.test"') == ["bob@acme.test"]
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    selects = [s for s in statements if "FROM user_account" in s and "scim_token" not in s]
    assert selects and all("WHERE" in s and "user_account.account_id" in s for s in selects)


def test_paging_with_total_results_and_count_capped(scim, people):
    page = scim.get("/Users?startIndex=2&count=2").get_json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
    all_ids = [r["id"] for r in scim.get("/Users").get_json()["Resources"]]
    assert [r["id"] for r in page["Resources"]] == all_ids[1:3]
    assert scim.get("/Users?startIndex=5&count=10").get_json()["itemsPerPage"] == 1
    assert scim.get("/Users?startIndex=50").get_json()["Resources"] == []
    assert scim.get("/Users?count=0").get_json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 5, "startIndex": 1,
        "itemsPerPage": 0, "Resources": []}
    assert scim.get("/Users?startIndex=0&count=-3").get_json()["startIndex"] == 1
    assert_error(scim.get("/Users?count=many"), 400, "invalidValue")


def test_count_is_capped_at_max_results(scim, account, monkeypatch):
    from portal.scim import endpoints

    for n in range(3):
        scim.post("/Users", okta_user(f"u{n}@acme.test"))
    assert endpoints.MAX_RESULTS == 200  # what ServiceProviderConfig's filter.maxResults says
    monkeypatch.setattr(endpoints, "MAX_RESULTS", 2)
    assert scim.get("/Users?count=1000").get_json()["itemsPerPage"] == 2


def test_attributes_and_excluded_attributes(scim, people):
    uid = people["ann@acme.test"]
    only = scim.get(f"/Users/{uid}?attributes=userName,name.givenName").get_json()
    assert only == {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": uid,
                    "userName": "ann@acme.test", "name": {"givenName": "Ann"}}
    without = scim.get(f"/Users/{uid}?excludedAttributes=groups,emails,name.familyName,id").get_json()
    assert "groups" not in without and "emails" not in without and without["id"] == uid
    assert without["name"] == {"givenName": "Ann", "formatted": "Ann Smith"}
    listed = scim.get("/Users?attributes=userName&filter=" + filter_param('userName sw "a"')).get_json()
    assert all(set(r) == {"schemas", "id", "userName"} for r in listed["Resources"])


@pytest.mark.parametrize("text", [
    'userName eq "ada@acme.test"', 'userName eq "Ada@Acme.TEST"', 'externalId eq "00u1abc"', 'externalId EQ "x"',
    'userName Eq ""', 'name.givenName eq "Ada Lovelace"', 'emails.value eq "a+b@acme.test"', 'displayName eq "é ü 東"',
    'id eq "0123456789abcdef"', "userName eq \"it's\"", 'meta.lastModified eq "2026-01-31T12:00:00Z"'])
def test_the_fast_eq_parse_gives_the_librarys_tree(text):
    fast = filters.simple_eq(text)
    assert fast is not None and fast == ScimFilter(text).ast
    assert filters.parse(text) == ScimFilter(text).ast


@pytest.mark.parametrize("text", [
    'userName  eq "a"', ' userName eq "a"', 'userName eq "a" ', 'userName eq "a\\"b"', 'userName eq "a\\u0041"',
    'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"', 'userName eq "a" and active eq true',
    'userName ne "a"', 'userName eq 1', 'emails[value eq "a"]', 'name.givenName.x eq "a"', 'userName eq "a"b"'])
def test_anything_else_goes_to_the_library(text):
    assert filters.simple_eq(text) is None
