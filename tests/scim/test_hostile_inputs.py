"""What no attribute can hold is refused with a SCIM error and nothing written, on SQLite and PostgreSQL alike:
deep nesting, unpaired surrogates, NUL characters, values past a column's length, dateTimes and numbers past
their range, Unicode spellings of another account's domain, methods the service does not route."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DataError

from portal.extensions import db
from portal.models import AuditEvent, Team, User
from portal.scim import endpoints
from tests.scim.helpers import ERROR, assert_error, filter_param, group_body, okta_user


def counts():
    db.session.expire_all()
    return (db.session.scalar(select(func.count()).select_from(User)),
            db.session.scalar(select(func.count()).select_from(Team)))


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"a":' * 100_000])
def test_deeply_nested_bodies_are_invalid_syntax(scim, raw):
    before = counts()
    assert_error(scim.request("POST", "/Users", raw=raw), 400, "invalidSyntax")
    assert_error(scim.request("POST", "/Groups", raw=raw), 400, "invalidSyntax")
    assert counts() == before


@pytest.mark.parametrize("raw", [
    b'{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@acme.test","displayName":"\\ud800"}',
    b'{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"\\ud800@acme.test"}',
])
def test_unpaired_surrogates_in_a_body_are_invalid_syntax(scim, raw):
    before = counts()
    assert_error(scim.request("POST", "/Users", raw=raw), 400, "invalidSyntax")
    assert counts() == before


@pytest.mark.parametrize("body", [
    okta_user("ada@acme.test") | {"displayName": "a\x00b"},
    okta_user("ada@acme.test") | {"externalId": "00u\x00"},
    okta_user("ada@acme.test") | {"name": {"givenName": "\x00", "familyName": "L"}},
])
def test_a_nul_in_a_user_is_invalid_value_and_nothing_is_written(scim, body):
    before = counts()
    assert "NUL" in assert_error(scim.post("/Users", body), 400, "invalidValue")["detail"]
    assert counts() == before
    refused = db.session.scalars(select(AuditEvent.reason).where(AuditEvent.event_type == "scim.request.refused"))
    assert list(refused) == ["invalidValue"]


def test_a_nul_in_a_group_or_its_members_is_invalid_value(scim):
    before = counts()
    assert_error(scim.post("/Groups", group_body("Eng\x00")), 400, "invalidValue")
    assert_error(scim.post("/Groups", {**group_body("Eng"), "members": [{"value": "\x00"}]}), 400, "invalidValue")
    assert counts() == before


@pytest.mark.parametrize("path", ["/Users/%00", "/Groups/%00", "/Users/a%00b", f"/Users/{'x' * 5000}",
                                  "/Users/%ED%A0%80"])
def test_ids_no_row_can_have_are_not_found(scim, path):
    for method in ("GET", "DELETE"):
        assert_error(scim.request(method, path), 404)
    assert_error(scim.put(path, okta_user("ada@acme.test")), 404)


def test_a_refused_post_to_an_id_with_a_nul_is_a_scim_405(scim):
    answer = scim.post("/Users/%00", okta_user("ada@acme.test"))
    assert answer.status_code == 405 and answer.get_json()["schemas"] == [ERROR]


@pytest.mark.parametrize("expression", ['userName eq "a\\u0000b"', 'externalId eq "\\ud800"',
                                        'displayName co "\\u0000"', 'emails.value sw "\\udfff"'])
def test_filter_values_no_row_can_hold_are_invalid_filters(scim, expression):
    assert_error(scim.get("/Users?filter=" + filter_param(expression)), 400, "invalidFilter")


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_datetimes_past_the_first_or_last_utc_time_are_invalid_filters(scim, value):
    for resource in ("/Users", "/Groups"):
        for attr in ("meta.lastModified", "meta.created"):
            answer = scim.get(f"{resource}?filter=" + filter_param(f'{attr} gt "{value}"'))
            assert_error(answer, 400, "invalidFilter")


@pytest.mark.parametrize("query", ["startIndex=99999999999999999999", "count=99999999999999999999",
                                   "startIndex=-99999999999999999999", "startIndex=2147483648"])
def test_paging_numbers_past_the_database_range_are_invalid_values(scim, query):
    for resource in ("/Users", "/Groups"):
        assert_error(scim.get(f"{resource}?{query}"), 400, "invalidValue")


def test_external_ids_past_their_column_are_invalid_values(scim):
    before = counts()
    assert_error(scim.post("/Users", okta_user("ada@acme.test", external_id="x" * 256)), 400, "invalidValue")
    assert_error(scim.post("/Groups", group_body("Eng", external_id="x" * 256)), 400, "invalidValue")
    assert counts() == before
    assert scim.post("/Users", okta_user("ada@acme.test", external_id="x" * 255)).status_code == 201


def test_a_group_name_whose_lower_case_is_longer_than_allowed_is_invalid_value(scim):
    before = counts()
    assert_error(scim.post("/Groups", group_body("İ" * 150)), 400, "invalidValue")  # lower-cases to 300 characters
    assert counts() == before


def test_a_unicode_spelling_of_a_domain_is_refused_with_its_ascii_form(scim):
    before = counts()
    for spelling, ascii_form in (("cfo@ｇｌｏｂｅｘ.test", "cfo@globex.test"), ("ceo@bücher.test", "ceo@xn--bcher-kva.test")):
        detail = assert_error(scim.post("/Users", okta_user(spelling)), 400, "invalidValue")["detail"]
        assert ascii_form in detail
    assert counts() == before
    assert scim.post("/Users", okta_user("ceo@xn--bcher-kva.test")).status_code == 201


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "CONNECT"])
def test_methods_the_service_does_not_route_answer_a_scim_405(scim, method):
    answer = scim.request(method, "/Users")
    assert answer.status_code == 405 and answer.mimetype == "application/scim+json"
    assert answer.get_json()["schemas"] == [ERROR] and answer.get_json()["status"] == "405"


def test_a_value_the_database_refuses_is_invalid_value_not_a_5xx(scim, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise DataError("INSERT", {}, Exception("value too long for type character varying(32)"))
    monkeypatch.setattr(endpoints.directory, "create_user", refuse)
    assert_error(scim.post("/Users", okta_user("ada@acme.test")), 400, "invalidValue")
