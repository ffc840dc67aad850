"""Every answer under the base URL is SCIM: discovery, unknown paths, wrong methods, body cap, throttle."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, User
from tests.scim.helpers import assert_error, okta_user


def test_service_provider_config_says_patch_and_filter_200_no_bulk(scim):
    response = scim.get("/ServiceProviderConfig")
    assert response.status_code == 200 and response.mimetype == "application/scim+json"
    config = response.get_json()
    assert config["patch"] == {"supported": True}
    assert config["bulk"]["supported"] is False
    assert config["filter"] == {"supported": True, "maxResults": 200}
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_resource_types_and_schemas(scim):
    types = scim.get("/ResourceTypes").get_json()
    assert sorted(r["endpoint"] for r in types["Resources"]) == ["/Groups", "/Users"]
    assert scim.get("/ResourceTypes/User").get_json()["schema"] == "urn:ietf:params:scim:schemas:core:2.0:User"
    schemas = {s["id"] for s in scim.get("/Schemas").get_json()["Resources"]}
    assert schemas == {"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:core:2.0:Group"}
    user = scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").get_json()
    # only what the portal keeps (the enterprise extension and other attributes are accepted and ignored)
    assert [a["name"] for a in user["attributes"]] == ["userName", "name", "displayName", "active", "emails", "groups"]
    assert_error(scim.get("/Schemas/urn:nope"), 404)
    assert_error(scim.get("/ResourceTypes/Nope"), 404)


@pytest.mark.parametrize("path", ["", "/", "/Nope", "/Users/a/b", "/Bulk", "/Me", "/users"])
def test_unknown_paths_are_404_with_the_scim_body(scim, path):
    assert_error(scim.get(path), 404)


@pytest.mark.parametrize("method, path", [("PUT", "/Users"), ("DELETE", "/Users"), ("POST", "/Users/abc"),
                                          ("PATCH", "/Groups"), ("POST", "/ServiceProviderConfig"),
                                          ("DELETE", "/Schemas"), ("OPTIONS", "/Users"), ("HEAD", "/Users")])
def test_wrong_methods_are_405_with_allow(scim, method, path):
    response = scim.request(method, path)
    assert response.status_code == 405
    if method != "HEAD":
        assert_error(response, 405)
    assert "GET" in response.headers["Allow"]


@pytest.fixture
def app_config():
    return {"SCIM_MAX_BODY_BYTES": 2048, "SCIM_RATE_LIMIT": "30 per minute"}


def test_body_over_the_cap_is_413_and_nothing_written(scim):
    body = okta_user("big@acme.test")
    body["displayName"] = "x" * 3000
    assert_error(scim.post("/Users", body), 413)
    assert User.by_email("big@acme.test") is None
    small = okta_user("small@acme.test")
    assert len(json.dumps(small)) < 2048 and scim.post("/Users", small).status_code == 201


def test_body_over_the_cap_without_content_length_is_413(scim):
    body = b'{"userName": "c@acme.test", "displayName": "' + b"y" * 5000 + b'"}'
    # a chunked upload: no Content-Length, the server reads until the end of the stream
    response = scim.client.post(f"{scim.base}/Users", input_stream=io.BytesIO(body), headers=scim.headers(),
                                content_type="application/scim+json",
                                environ_overrides={"wsgi.input_terminated": True})
    assert_error(response, 413)


def test_throttled_token_gets_429_with_retry_after_and_one_audit_event(scim, other_scim):
    answers = [scim.get("/ServiceProviderConfig").status_code for _ in range(30)]
    assert answers == [200] * 30
    for _ in range(3):
        throttled = scim.get("/Users")
        body = assert_error(throttled, 429)
        assert int(throttled.headers["Retry-After"]) >= 1 and "retry" in body["detail"].lower()
    assert other_scim.get("/Users").status_code == 200  # another token has its own budget
    refused = list(db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == "scim.request.refused")))
    assert [e.reason for e in refused] == ["429"]


def test_never_a_5xx_for_bad_input(scim):
    uid = scim.post("/Users", okta_user("z@acme.test")).get_json()["id"]
    weird = [("POST", "/Users", b"null"), ("POST", "/Users", b"[]"), ("POST", "/Users", b'"x"'),
             ("POST", "/Users", b'{"userName": {"a": 1}}'), ("PATCH", f"/Users/{uid}", b"{}"),
             ("PATCH", f"/Users/{uid}", b'{"Operations": [null]}'),
             ("PATCH", f"/Users/{uid}", b'{"Operations": [{"op": "add", "path": 5, "value": 1}]}'),
             ("PATCH", f"/Users/{uid}", b'{"Operations": [{"op": "add", "value": {"name": 5}}]}'),
             ("PATCH", f"/Users/{uid}", b'{"Operations": [{"op": "add", "value": {"emails": 5}}]}'),
             ("PATCH", f"/Users/{uid}", b'{"Operations": [{"op": "add", "path": "emails", "value": [1]}]}'),
             ("PUT", f"/Users/{uid}", b'{"userName": null}'), ("POST", "/Groups", b'{"displayName": 5}'),
             ("POST", "/Groups", b'{"displayName": "G", "members": [{"value": 5}]}'),
             ("POST", "/Groups", b'{"displayName": "G", "members": "x"}'),
             ("GET", "/Users?startIndex=1e9", None), ("GET", "/Users?filter=%00", None)]
    for method, path, raw in weird:
        response = scim.request(method, path, raw=raw)
        assert 400 <= response.status_code < 500, (method, path, raw, response.get_data(as_text=True))
        assert response.mimetype == "application/scim+json"


def test_an_unexpected_error_is_still_a_scim_answer_with_nothing_written(scim, monkeypatch):
    from portal.scim import endpoints

    def broken(*args):
        raise RuntimeError("bug")
    monkeypatch.setitem(endpoints.ROUTES[("Users", 1)], "POST", broken)
    assert_error(scim.post("/Users", okta_user("bug@acme.test")), 500)
    assert User.by_email("bug@acme.test") is None
