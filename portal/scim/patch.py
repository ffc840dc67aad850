"""PATCH (RFC 7644 §3.5.2) in Okta's and Entra ID's forms, turned into directory changes.

Op names are case-insensitive ("Replace"), booleans may come as "True"/"False", a value without a path is
an object of attributes, and members are removed by a path filter (members[value eq "id"]) or by a value
list. Paths are parsed by scim2-models; nothing is written until every operation has been read.

userName is the login identity (the NameID the IdP sends) and only a userName operation changes it. emails
operations are checked for their shape and otherwise ignored: Entra ID maps emails[type eq "work"].value to the
user's mail beside a UPN userName, and letting it write userName would replace the UPN and lock them out of SSO.
"""
from __future__ import annotations

from scim2_models import Path
from scim2_models.path import AttrPath, Comparison, LogicalExpr, LogicalOperator, Not, Present, ValuePath

from portal.scim.discovery import ENTERPRISE_SCHEMA, GROUP_SCHEMA, PATCH_SCHEMA, USER_SCHEMA
from portal.scim.errors import ScimError
from portal.scim.resources import member_values, primary_entry

OPS = ("add", "remove", "replace")
# Core User attributes the portal does not keep: accepted and ignored (Entra ID sends several of them).
IGNORED_USER = {"nickname", "profileurl", "title", "usertype", "preferredlanguage", "locale", "timezone",
                "password", "phonenumbers", "ims", "photos", "addresses", "entitlements", "roles",
                "x509certificates", "name.formatted", "name.middlename", "name.honorificprefix",
                "name.honorificsuffix", "emails.type", "emails.primary", "emails.display"}
USER_PATHS = {"username": "email", "externalid": "external_id", "displayname": "name",
              "name.givenname": "given_name", "name.familyname": "family_name", "active": "active"}


def operations(body) -> list[tuple[str, str | None, object]]:
    """(op, path, value) of each operation of a PatchOp body; 400 invalidSyntax when it is not one."""
    if not isinstance(body, dict):
        raise ScimError(400, "invalidSyntax", "The body must be a PatchOp JSON object.")
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or PATCH_SCHEMA.lower() not in
                                {str(s).lower() for s in schemas}):
        raise ScimError(400, "invalidSyntax", f"schemas must be [\"{PATCH_SCHEMA}\"].")
    ops = body.get("Operations", body.get("operations"))
    if not isinstance(ops, list) or not ops:
        raise ScimError(400, "invalidSyntax", "Operations must be a non-empty list.")
    result = []
    for op in ops:
        if not isinstance(op, dict) or not isinstance(op.get("op"), str) or op["op"].lower() not in OPS:
            raise ScimError(400, "invalidSyntax", "Each operation needs \"op\": add, remove or replace.")
        path = op.get("path")
        if path is not None and (not isinstance(path, str) or not path.strip()):
            raise ScimError(400, "invalidPath", "path must be a non-empty string.")
        if op["op"].lower() != "remove" and "value" not in op:
            raise ScimError(400, "invalidValue", f"The {op['op']} operation needs a value.")
        result.append((op["op"].lower(), path.strip() if path else None, op.get("value")))
    return result


def _parse_path(path: str):
    try:
        return Path(path).ast
    except Exception as exc:  # noqa: BLE001 - scim2-models raises its own and lark errors
        raise ScimError(400, "invalidPath", f"path {path!r} does not parse: {exc}") from None


def _attr_name(attr_path: AttrPath, core: str) -> str:
    if attr_path.uri:
        uri = attr_path.uri.lower()
        if uri == ENTERPRISE_SCHEMA.lower():
            return "#enterprise"
        if uri != core.lower():
            raise ScimError(400, "invalidPath", f"Unknown schema {attr_path.uri!r}.")
    return str(AttrPath(attr=attr_path.attr, sub_attr=attr_path.sub_attr)).lower()


def boolean(value) -> bool:
    """true/false, also as Entra ID's "True"/"False" strings; 400 invalidValue otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ScimError(400, "invalidValue", f"active must be true or false, not {value!r}.")


def _string(value, what: str) -> str:
    if not isinstance(value, str):
        raise ScimError(400, "invalidValue", f"{what} must be a string.")
    return value


def _attributes_without_path(op: str, value):
    """The (attribute, value) pairs of an operation without a path (RFC 7644 §3.5.2): add and replace only."""
    if op == "remove":
        raise ScimError(400, "noTarget", "remove needs a path.")
    if not isinstance(value, dict):
        raise ScimError(400, "invalidValue", "Without a path, value must be an object of attributes.")
    return value.items()


def user_changes(ops, own_id: str, email: str) -> dict:
    """Directory field changes of a user PATCH (portal.directory.scim.USER_FIELDS); email: the stored userName."""
    changes: dict = {}
    for op, path, value in ops:
        if path is None:
            for key, item in _attributes_without_path(op, value):
                if key.lower() in (ENTERPRISE_SCHEMA.lower(), USER_SCHEMA.lower()) and isinstance(item, dict):
                    if key.lower() == USER_SCHEMA.lower():
                        changes.update(user_changes([(op, None, item)], own_id, changes.get("email", email)))
                    continue  # the enterprise extension's attributes are accepted and ignored
                _user_attr(changes, op, _parse_path(key), item, own_id, email)
        else:
            _user_attr(changes, op, _parse_path(path), value, own_id, email)
    return changes


def _user_attr(changes: dict, op: str, node, value, own_id: str, email: str) -> None:
    if isinstance(node, ValuePath):
        if _attr_name(node.attr_path, USER_SCHEMA) != "emails" or (node.sub_attr or "value").lower() != "value":
            name = str(node)
            if _attr_name(node.attr_path, USER_SCHEMA) in {"phonenumbers", "addresses", "ims", "photos",
                                                          "entitlements", "roles", "x509certificates", "emails"}:
                return  # a value of an attribute the portal does not keep (Entra: addresses[type eq "work"]...)
            raise ScimError(400, "invalidPath", f"Unsupported path {name!r}.")
        # Accepted and ignored (userName is the login identity, see above). The filter is still read (one the portal
        # cannot answer is 400 invalidFilter), and a value for the one email kept here is still checked for its shape.
        if not _selects_stored_email(node.val_filter, changes.get("email", email)) or op == "remove":
            return
        if node.sub_attr is None and isinstance(value, (dict, list)):
            _check_emails([value] if isinstance(value, dict) else value)
        else:
            _string(value, "emails.value")
        return
    if not isinstance(node, AttrPath):
        raise ScimError(400, "invalidPath", f"Unsupported path {str(node)!r}.")
    name = _attr_name(node, USER_SCHEMA)
    if name == "#enterprise" or name in IGNORED_USER or name.split(".")[0] in IGNORED_USER:
        return  # accepted, not kept (enterprise extension, attributes the portal has no place for)
    if name in ("id", "meta", "schemas") or name.startswith("meta."):
        if name == "id" and value == own_id and op != "remove":
            return  # Okta repeats the resource's own id unchanged
        raise ScimError(400, "mutability", f"{name} is read-only.")
    if name == "groups":
        raise ScimError(400, "mutability", "groups is read-only: change memberships through /Groups.")
    if name == "name":
        if op == "remove":
            changes["given_name"] = changes["family_name"] = ""
            return
        if not isinstance(value, dict):
            raise ScimError(400, "invalidValue", "name must be an object.")
        for key, item in value.items():
            try:
                path = AttrPath(attr="name", sub_attr=key)
            except ValueError:  # pydantic's ValidationError too: "bad key", "", "a.b" are no attribute names
                raise ScimError(400, "invalidPath", f"Unknown attribute {'name.' + key!r}.") from None
            _user_attr(changes, op, path, item, own_id, email)
        return
    if name.startswith("urn:") or name == ENTERPRISE_SCHEMA.lower():
        return
    if name in ("emails", "emails.value"):
        # Accepted and ignored, remove included (userName is the login identity, see above); a value is still
        # checked for its shape.
        if op != "remove" and name == "emails":
            _check_emails(value)
        elif op != "remove":
            _string(value, "emails.value")
        return
    field = USER_PATHS.get(name)
    if field is None:
        raise ScimError(400, "invalidPath", f"Unknown attribute {name!r}.")
    if op == "remove":
        if field in ("email", "active"):
            raise ScimError(400, "invalidValue", f"{name} cannot be removed.")
        changes[field] = None if field == "external_id" else ""
        return
    if field == "active":
        changes["active"] = boolean(value)
    elif field == "external_id":
        changes[field] = None if value is None else _string(value, name)
    elif field == "email":  # the login identity: checked whole (as by POST and PUT), never cut
        changes[field] = _string(value, name)
    else:
        changes[field] = _string(value, name)[:200]


def _check_emails(entries) -> None:
    """400 invalidValue unless entries is a list of objects whose primary one (if any) has a string value."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ScimError(400, "invalidValue", "emails must be a list of objects.")
    primary = primary_entry(entries, lone_work=True)
    if primary is not None:
        _string(primary.get("value"), "emails.value")


def _selects_stored_email(node, email: str) -> bool:
    """Whether an emails[...] filter selects the one email the portal keeps: {value: userName, type: work,
    primary: true}. Sub-attribute names and string values compare in any case (RFC 7643: none is caseExact)."""
    if isinstance(node, LogicalExpr):
        results = [_selects_stored_email(term, email) for term in node.terms]
        return all(results) if node.op == LogicalOperator.and_ else any(results)
    if isinstance(node, Not):
        return not _selects_stored_email(node.expr, email)
    if not isinstance(node, (Comparison, Present)) or node.attr_path.sub_attr or node.attr_path.uri:
        raise ScimError(400, "invalidFilter", "Unsupported expression inside emails[...].")
    stored = {"value": email.lower(), "type": "work", "primary": True, "display": None}
    name = node.attr_path.attr.lower()
    if name not in stored:
        raise ScimError(400, "invalidFilter", f"emails has no sub-attribute {node.attr_path.attr!r}.")
    have = stored[name]
    if isinstance(node, Present):
        return have is not None
    op, want = node.op.value, node.value
    if want is None:
        if op not in ("eq", "ne"):
            raise ScimError(400, "invalidFilter", f"null can only be compared with eq or ne, not {op}.")
        return (have is None) == (op == "eq")
    if have is None:
        return op == "ne"  # an absent sub-attribute (display) equals nothing
    if isinstance(have, bool):
        if op not in ("eq", "ne") or not (isinstance(want, bool) or str(want).strip().lower() in ("true", "false")):
            raise ScimError(400, "invalidFilter", "primary is compared with eq or ne and true or false.")
        return (have == boolean(want)) == (op == "eq")
    if not isinstance(want, str):
        raise ScimError(400, "invalidFilter", f"Compare {name} with a string, not {want!r}.")
    want = want.lower()
    return {"eq": have == want, "ne": have != want, "co": want in have, "sw": have.startswith(want),
            "ew": have.endswith(want), "gt": have > want, "ge": have >= want, "lt": have < want,
            "le": have <= want}[op]


def group_changes(ops, own_id: str) -> dict:
    """A group PATCH as update_group arguments: name, external_id, add, remove (SCIM ids), replace."""
    result: dict = {"add": [], "remove": [], "replace": None}
    for op, path, value in ops:
        if path is None:
            for key, item in _attributes_without_path(op, value):
                _group_attr(result, op, _parse_path(key), item, own_id)
        else:
            _group_attr(result, op, _parse_path(path), value, own_id)
    return result


def _group_attr(result: dict, op: str, node, value, own_id: str) -> None:
    if isinstance(node, ValuePath):
        if _attr_name(node.attr_path, GROUP_SCHEMA) != "members" or node.sub_attr or op != "remove":
            raise ScimError(400, "invalidPath", f"Unsupported path {str(node)!r}.")
        result["remove"].extend(_member_filter_ids(node.val_filter))
        return
    if not isinstance(node, AttrPath):
        raise ScimError(400, "invalidPath", f"Unsupported path {str(node)!r}.")
    name = _attr_name(node, GROUP_SCHEMA)
    if name in ("id", "meta", "schemas") or name.startswith("meta."):
        if name == "id" and value == own_id and op != "remove":
            return
        raise ScimError(400, "mutability", f"{name} is read-only.")
    if name == "displayname":
        if op == "remove":
            raise ScimError(400, "invalidValue", "displayName is required.")
        result["name"] = _string(value, "displayName")
    elif name == "externalid":
        result["external_id"] = None if op == "remove" or value is None else _string(value, "externalId")
        result["set_external_id"] = True
    elif name == "members":
        ids = member_values(value) if not (op == "remove" and value is None) else None
        if op == "add":
            result["add"].extend(ids)
        elif op == "replace":
            result["replace"], result["add"], result["remove"] = list(ids), [], []
        elif ids is None:
            result["replace"], result["add"], result["remove"] = [], [], []
        else:
            result["remove"].extend(ids)
    else:
        raise ScimError(400, "invalidPath", f"Unknown attribute {name!r}.")


def _member_filter_ids(node) -> list[str]:
    """The user ids a members[...] removal filter names: value eq "id", joined with or."""
    if isinstance(node, Comparison) and node.attr_path.attr.lower() == "value" and node.op.value == "eq" \
            and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.or_:
        return [v for term in node.terms for v in _member_filter_ids(term)]
    raise ScimError(400, "invalidFilter", "Remove members with members[value eq \"id\"] (or several joined by or).")
