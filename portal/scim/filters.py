"""SCIM filters (RFC 7644 §3.4.2.2) as SQL on the account's rows.

scim2-models parses the filter (its lark grammar of the RFC, errata applied) into a syntax tree; this
module only walks that tree into a SQLAlchemy expression over mapped columns, so the database does the
filtering with its indexes. Each leaf is null-safe (never SQL NULL), so `not (...)` means what SCIM says.
An attribute or operator it cannot answer is 400 invalidFilter, never a Python-side scan.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from scim2_models import ScimFilter
from scim2_models.path import (AttrPath, Comparison, CompareOperator, FilterNode, LogicalExpr, LogicalOperator, Not,
                               Present, ValuePath)
from sqlalchemy import and_, exists, false, func, not_, or_, select, true
from sqlalchemy.sql import ColumnElement

from portal.inputs import storable
from portal.models import Team, TeamMembership, User
from portal.scim.errors import ScimError

MAX_FILTER = 2000  # characters: a filter longer than this is refused before it is parsed
URNS = ("urn:ietf:params:scim:schemas:core:2.0:user", "urn:ietf:params:scim:schemas:core:2.0:group",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user")


class Attr:
    """A filterable attribute: its column, its type, and whether it compares case-insensitively."""

    def __init__(self, column, kind: str = "string", caseless: bool = False, stored_lower: bool = False):
        self.column, self.kind, self.caseless, self.stored_lower = column, kind, caseless, stored_lower


USER_ATTRS = {
    # Emails are stored lower-cased: comparing the column itself keeps its unique index in use.
    "username": Attr(User.email, stored_lower=True),
    "emails": Attr(User.email, stored_lower=True),
    "emails.value": Attr(User.email, stored_lower=True),
    "externalid": Attr(User.external_id),
    "displayname": Attr(User.name, caseless=True),
    "name.givenname": Attr(User.given_name, caseless=True),
    "name.familyname": Attr(User.family_name, caseless=True),
    "id": Attr(User.scim_id),
    "active": Attr(User.active, "boolean"),
    "meta.lastmodified": Attr(User.updated_at, "datetime"),
    "meta.created": Attr(User.created_at, "datetime"),
}
_team_modified = func.coalesce(Team.updated_at, Team.created_at)
GROUP_ATTRS = {
    "displayname": Attr(Team.name, caseless=True),
    "externalid": Attr(Team.scim_external_id),
    "id": Attr(Team.scim_id),
    "meta.lastmodified": Attr(_team_modified, "datetime"),
    "meta.created": Attr(Team.created_at, "datetime"),
}
# Inside emails[...] on a user (the one email is the primary, work one) and members[...] on a group.
EMAIL_SUB = {"value": Attr(User.email, stored_lower=True)}
MEMBER_SUB = {"value": Attr(User.scim_id), "display": Attr(User.email, stored_lower=True)}


def parse(text: str | None) -> FilterNode | None:
    """The syntax tree of a filter parameter (None when absent); 400 invalidFilter when it does not parse."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_FILTER:
        raise ScimError(400, "invalidFilter", f"The filter is longer than {MAX_FILTER} characters.")
    simple = simple_eq(text)
    if simple is not None:
        return simple
    try:
        return ScimFilter(text).ast
    except Exception as exc:  # noqa: BLE001 - scim2-models raises its own and pydantic/lark errors
        raise ScimError(400, "invalidFilter", f"The filter does not parse: {exc}") from None


def simple_eq(text: str) -> Comparison | None:
    """The fast path of parse() for Okta's and Entra's one filter shape, `attr eq "value"`: the library's own tree
    built without running its grammar (tests/scim/test_filters.py checks both give equal trees); None otherwise."""
    match = _SIMPLE_EQ.match(text)
    if match is None:
        return None
    attr, sub_attr, value = match.groups()
    return Comparison(attr_path=AttrPath(attr=attr, sub_attr=sub_attr), op=CompareOperator.eq, value=value)


# RFC 7644 ATTRNAME, optionally one sub-attribute; a JSON string without escapes or control characters.
_SIMPLE_EQ = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)(?:\.([A-Za-z][A-Za-z0-9_-]*))? (?i:eq) "([^"\\\x00-\x1f]*)"\Z')


# Indexed columns an `eq` finds a handful of rows by (the unique email and scim_id, (account_id, external_id)).
_SELECTIVE_USER_ATTRS = frozenset({"username", "emails", "emails.value", "externalid", "id"})


def selective(node: FilterNode | None) -> bool:
    """Whether node is an `eq` on an indexed user attribute (Okta's and Entra's existence checks)."""
    return isinstance(node, Comparison) and node.op == CompareOperator.eq and isinstance(node.value, str) \
        and _name(node.attr_path) in _SELECTIVE_USER_ATTRS


def users_where(node: FilterNode) -> ColumnElement:
    """A WHERE clause over User for a parsed filter."""
    return _walk(node, USER_ATTRS, _user_value_path)


def groups_where(node: FilterNode) -> ColumnElement:
    """A WHERE clause over Team for a parsed filter (members by user id, as members[value eq "..."])."""
    return _walk(node, GROUP_ATTRS, _group_value_path)


def _walk(node: FilterNode, attrs: dict, value_path) -> ColumnElement:
    if isinstance(node, LogicalExpr):
        terms = [_walk(t, attrs, value_path) for t in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)
    if isinstance(node, Not):
        return not_(_walk(node.expr, attrs, value_path))
    if isinstance(node, ValuePath):
        return value_path(node)
    if isinstance(node, (Comparison, Present)):
        name = _name(node.attr_path)
        if name in ("members", "members.value", "members.display") and value_path is _group_value_path:
            return _members_exist(_walk(_strip(node, "members"), MEMBER_SUB, _no_value_path))
        return _leaf(node, _attr(attrs, name))
    raise ScimError(400, "invalidFilter", "Unsupported filter expression.")


def _name(path: AttrPath) -> str:
    if path.uri and path.uri.lower() not in URNS:
        raise ScimError(400, "invalidFilter", f"Unknown schema {path.uri!r} in the filter.")
    return str(AttrPath(attr=path.attr, sub_attr=path.sub_attr)).lower()


def _attr(attrs: dict, name: str) -> Attr:
    attr = attrs.get(name)
    if attr is None:
        raise ScimError(400, "invalidFilter", f"Filtering on {name!r} is not supported.")
    return attr


def _strip(node, prefix: str):
    """members.value eq "x" read as value eq "x" inside members[...]."""
    sub = node.attr_path.sub_attr or "value"
    path = AttrPath(attr=sub)
    return Comparison(attr_path=path, op=node.op, value=node.value) if isinstance(node, Comparison) \
        else Present(attr_path=path)


def _leaf(node, attr: Attr) -> ColumnElement:
    col = attr.column
    if isinstance(node, Present):
        if attr.kind == "string":
            return and_(col.is_not(None), col != "")
        return col.is_not(None)
    op, value = node.op.value, node.value
    if isinstance(value, str) and not storable(value):
        raise ScimError(400, "invalidFilter", "A filter value cannot contain a NUL or an unpaired surrogate character.")
    if value is None:
        if op == "eq":
            return col.is_(None) if attr.kind != "string" else or_(col.is_(None), col == "")
        if op == "ne":
            return col.is_not(None) if attr.kind != "string" else and_(col.is_not(None), col != "")
        raise ScimError(400, "invalidFilter", f"null can only be compared with eq or ne, not {op}.")
    if attr.kind == "boolean":
        if not isinstance(value, bool) or op not in ("eq", "ne"):
            raise ScimError(400, "invalidFilter", "A boolean attribute is compared with eq or ne and true or false.")
        return (col.is_(True) if value else col.is_(False)) if op == "eq" else \
            (col.is_(False) if value else col.is_(True))
    if attr.kind == "datetime":
        value = _datetime(value)
        if op in ("co", "sw", "ew"):
            raise ScimError(400, "invalidFilter", f"{op} does not apply to a dateTime.")
    elif not isinstance(value, str):
        raise ScimError(400, "invalidFilter", f"Compare a string attribute with a string, not {value!r}.")
    elif attr.stored_lower:
        value = value.lower()
    elif attr.caseless:
        col, value = func.lower(col), value.lower()
    condition = {
        "eq": lambda: col == value, "ne": lambda: col != value,
        "co": lambda: col.contains(value, autoescape=True), "sw": lambda: col.startswith(value, autoescape=True),
        "ew": lambda: col.endswith(value, autoescape=True),
        "gt": lambda: col > value, "ge": lambda: col >= value, "lt": lambda: col < value, "le": lambda: col <= value,
    }[op]()
    if op == "ne":
        return or_(attr.column.is_(None), condition)
    return and_(attr.column.is_not(None), condition) if _nullable(attr) else condition


def _nullable(attr: Attr) -> bool:
    return getattr(attr.column, "nullable", True) is not False


def _datetime(value) -> datetime:
    if not isinstance(value, str):
        raise ScimError(400, "invalidFilter", f"Compare a dateTime with a string, not {value!r}.")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ScimError(400, "invalidFilter", f"{value!r} is not a dateTime (e.g. 2026-01-31T12:00:00Z).") from None
    if parsed.tzinfo is not None:  # stored times are naive UTC
        try:
            parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first UTC time there is
            raise ScimError(400, "invalidFilter", f"{value!r} is outside the dateTimes there are.") from None
    return parsed


def _no_value_path(node: ValuePath) -> ColumnElement:
    raise ScimError(400, "invalidFilter", "A value filter cannot be nested.")


def _user_value_path(node: ValuePath) -> ColumnElement:
    if _name(node.attr_path) != "emails" or node.sub_attr:
        raise ScimError(400, "invalidFilter", f"Filtering inside {str(node.attr_path)!r} is not supported.")
    return _walk_sub(node.val_filter, EMAIL_SUB, {"type": "work", "primary": True})


def _group_value_path(node: ValuePath) -> ColumnElement:
    if _name(node.attr_path) != "members" or node.sub_attr:
        raise ScimError(400, "invalidFilter", f"Filtering inside {str(node.attr_path)!r} is not supported.")
    return _members_exist(_walk_sub(node.val_filter, MEMBER_SUB, {"type": "User"}))


def _walk_sub(node: FilterNode, attrs: dict, constants: dict) -> ColumnElement:
    """A value filter's expression; constant sub-attributes (an email's type, primary) compare in SQL as literals."""
    if isinstance(node, LogicalExpr):
        terms = [_walk_sub(t, attrs, constants) for t in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)
    if isinstance(node, Not):
        return not_(_walk_sub(node.expr, attrs, constants))
    if isinstance(node, (Comparison, Present)) and not node.attr_path.sub_attr and not node.attr_path.uri:
        name = node.attr_path.attr.lower()
        known = {k.lower(): v for k, v in constants.items()}
        if name in known:
            return _constant(node, known[name])
        return _leaf(node, _attr(attrs, name))
    raise ScimError(400, "invalidFilter", "Unsupported expression inside [...].")


def _constant(node, constant) -> ColumnElement:
    if isinstance(node, Present):
        return true()
    value, op = node.value, node.op.value
    if isinstance(constant, str) and isinstance(value, str):
        value, constant = value.lower(), constant.lower()
    if op == "eq":
        return true() if value == constant else false()
    if op == "ne":
        return false() if value == constant else true()
    raise ScimError(400, "invalidFilter", f"{op} does not apply there.")


def _members_exist(condition: ColumnElement) -> ColumnElement:
    return exists(select(TeamMembership.user_id).join(User, User.id == TeamMembership.user_id).where(
        TeamMembership.team_id == Team.id, TeamMembership.source == "scim", condition))
