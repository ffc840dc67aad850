"""The fast path for plain /Users bodies: directory fields without the library's pydantic model.

Okta's POST and PUT bodies are flat strings and booleans; checking them needs no model (10 µs instead of about
250 µs of CPU). Anything else (another attribute, a null, a string "False", an extension) returns None and goes
through scim2-models in resources.user_fields. tests/scim/test_fastbody.py checks both give the same fields.
"""
from __future__ import annotations

from portal.scim.discovery import USER_SCHEMA

_STRINGS = ("userName", "displayName", "externalId", "locale", "password")
_KEYS = frozenset(_STRINGS) | {"schemas", "name", "active", "groups"}
_NAME_KEYS = frozenset({"givenName", "familyName", "formatted", "middleName", "honorificPrefix", "honorificSuffix"})


def user_fields(body: dict, replacing: bool) -> dict | None:
    """Directory fields of a plain User body (no emails key), or None when the library's model must decide."""
    if not _KEYS.issuperset(body) or body.get("schemas", [USER_SCHEMA]) != [USER_SCHEMA]:
        return None
    if any(k in body and type(body[k]) is not str for k in _STRINGS) or type(body.get("userName")) is not str:
        return None
    if type(body.get("active", True)) is not bool or body.get("groups", []) != []:
        return None
    name = body.get("name", {})
    if type(name) is not dict or not _NAME_KEYS.issuperset(name) or any(type(v) is not str for v in name.values()):
        return None
    given, family = name.get("givenName") or "", name.get("familyName") or ""
    display = body.get("displayName") or " ".join(p for p in (given, family) if p)
    fields = {"email": body["userName"], "external_id": body.get("externalId"), "given_name": given[:200],
              "family_name": family[:200], "name": display[:200]}
    if "active" in body:
        fields["active"] = body["active"]
    elif not replacing:
        fields["active"] = True
    return fields
