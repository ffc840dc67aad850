"""Plain helpers for the SCIM tests: Okta- and Entra-shaped bodies, a small client wrapper."""
from __future__ import annotations

import json

from tests.helpers import BASE_URL

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


class Scim:
    """Requests under one account's base URL with one bearer token; JSON bodies as application/scim+json."""

    def __init__(self, client, domain: str, token: str | None):
        self.client, self.domain, self.token = client, domain, token
        self.base = f"/scim/v2/{domain}"

    def headers(self, extra=None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra or {})
        return headers

    def request(self, method: str, path: str, body=None, raw: bytes | None = None, headers=None, **kwargs):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return self.client.open(self.base + path, method=method, data=data, headers=self.headers(headers),
                                content_type="application/scim+json" if data is not None else None, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def okta_user(email: str, given: str = "Ada", family: str = "Lovelace", external_id: str = "00u1",
              active: bool = True) -> dict:
    """What Okta POSTs to /Users when a person is assigned to the app."""
    return {"schemas": [USER], "userName": email, "name": {"givenName": given, "familyName": family},
            "emails": [{"primary": True, "value": email, "type": "work"}], "displayName": f"{given} {family}",
            "locale": "en-US", "externalId": external_id, "groups": [], "password": "ignored-by-portal",
            "active": active}


def entra_user(email: str, external_id: str = "e-1", active: bool | str = True) -> dict:
    """What Entra ID POSTs to /Users (enterprise extension included, its attributes ignored)."""
    return {"schemas": [USER, ENTERPRISE], "externalId": external_id, "userName": email, "active": active,
            "displayName": "Grace Hopper", "emails": [{"primary": True, "type": "work", "value": email}],
            "meta": {"resourceType": "User"}, "name": {"formatted": "Grace Hopper", "familyName": "Hopper",
                                                       "givenName": "Grace"},
            "title": "Rear Admiral", ENTERPRISE: {"employeeNumber": "42", "department": "Navy"}}


def patch_op(*operations) -> dict:
    """A PatchOp body."""
    return {"schemas": [PATCH], "Operations": list(operations)}


def group_body(name: str, member_ids=(), external_id: str | None = None) -> dict:
    """A pushed group."""
    body = {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in member_ids]}
    if external_id:
        body["externalId"] = external_id
    return body


def assert_error(response, status: int, scim_type: str | None = None) -> dict:
    """The response is a SCIM error with this status (and scimType)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/scim+json"
    body = response.get_json(force=True)
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type, body
    return body


def filter_param(expression: str) -> str:
    """A filter as a query string value."""
    from urllib.parse import quote

    return quote(expression, safe="")


BASE = BASE_URL
