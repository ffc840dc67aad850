"""The SCIM resources' handlers: route(path, method) -> handler; each reads, calls directory/, answers.

Handlers take (account, token, body, *path args) and return (status, JSON body or None, headers); the view
commits once after a handler returns, so each write is one transaction with its one audit event.
"""
from __future__ import annotations

from flask import current_app, request
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from portal.directory import scim as directory
from portal.extensions import db
from portal.inputs import MAX_ID, printable, storable
from portal.models import Account, ScimToken, Team, User
from portal.scim import discovery, filters, pages, patch, resources
from portal.scim.discovery import LIST_SCHEMA, MAX_RESULTS
from portal.scim.errors import ScimError

DEFAULT_COUNT = 100


def base_url(account: Account) -> str:
    """{PORTAL_BASE_URL}/scim/v2/{domain}: Okta's "SCIM connector base URL", Entra ID's "Tenant URL"."""
    return f"{current_app.config['BASE_URL']}/scim/v2/{account.domain}"


def route(path: str, method: str):
    """The handler and its path arguments for a path under the base URL; 404 or 405 (with Allow) otherwise."""
    parts = path.split("/") if path else []
    table = ROUTES.get((parts[0] if parts else "", len(parts)))
    if table is None:
        raise ScimError(404, None, f"There is no SCIM resource at /{path}.")
    handler = table.get(method)
    if handler is None:
        allowed = ", ".join(sorted(table))
        raise ScimError(405, None, f"{method} is not allowed here; use {allowed}.", headers={"Allow": allowed})
    return handler, parts[1:]


# ---- discovery

def _spc(account, token, body):
    return 200, discovery.service_provider_config(base_url(account)), {}


def _resource_types(account, token, body):
    return 200, discovery.list_response(discovery.resource_types(base_url(account))), {}


def _resource_type(account, token, body, name):
    return 200, discovery.one(discovery.resource_types(base_url(account)), name, "resource type"), {}


def _schemas(account, token, body):
    return 200, discovery.list_response(discovery.schemas(base_url(account))), {}


def _schema(account, token, body, urn):
    return 200, discovery.one(discovery.schemas(base_url(account)), urn, "schema"), {}


# ---- query parameters

def _int(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ScimError(400, "invalidValue", f"{name} must be an integer, not {printable(raw[:100])!r}.") from None
    if abs(value) > MAX_ID:
        raise ScimError(400, "invalidValue", f"{name} must be at most {MAX_ID}.")
    return value


def _paging() -> tuple[int, int]:
    """startIndex (1-based, at least 1) and count (0 to filter.maxResults)."""
    return max(1, _int("startIndex", 1)), min(MAX_RESULTS, max(0, _int("count", DEFAULT_COUNT)))


def _attribute_params() -> tuple[list[str] | None, list[str] | None]:
    def split(name):
        raw = request.args.get(name)
        return [a for a in (p.strip() for p in raw.split(",")) if a] if raw else None
    return split("attributes"), split("excludedAttributes")


def _list(resources_, total: int, start: int) -> dict:
    return {"schemas": [LIST_SCHEMA], "totalResults": total, "startIndex": start,
            "itemsPerPage": len(resources_), "Resources": resources_}


# ---- users

def _could_be_id(scim_id: str) -> bool:
    """Whether scim_id could be an id at all (at most 32 characters, storable): others are 404 without a query."""
    return len(scim_id) <= 32 and storable(scim_id)


def _user_or_404(account: Account, scim_id: str) -> User:
    user = db.session.scalar(select(User).where(User.account_id == account.id, User.scim_id == scim_id)
                             .options(lazyload(User.account))) if _could_be_id(scim_id) else None
    if user is None:  # another account's user answers exactly like a missing one
        raise ScimError(404, None, f"User {printable(scim_id[:100])} not found.")
    return user


def _user_answer(account, user, status=200, headers=None, new=False):
    attrs, excluded = _attribute_params()
    groups = None
    if resources.wants("groups", attrs, excluded):
        groups = [] if new else resources.groups_of(db.session, [user.id])[user.id]  # a new user is in no group
    data = resources.select_attributes(resources.user_json(user, base_url(account), groups), attrs, excluded)
    return status, data, headers or {}


def _list_users(account, token, body):
    node = filters.parse(request.args.get("filter"))
    where = [User.account_id == account.id]
    if node is not None:
        where.append(filters.users_where(node))
    start, count = _paging()
    attrs, excluded = _attribute_params()
    users, total = pages.users_page(db.session, where, start, count, selective=filters.selective(node))
    groups = resources.groups_of(db.session, [u.id for u in users]) \
        if users and resources.wants("groups", attrs, excluded) else {}
    base = base_url(account)
    found = [resources.select_attributes(resources.user_json(u, base, groups.get(u.id) if groups else None),
                                         attrs, excluded) for u in users]
    return 200, _list(found, total, start), {}


def _create_user(account, token: ScimToken, body):
    fields = resources.user_fields(body(), replacing=False)
    user = directory.create_user(account, fields, token.actor)
    return _user_answer(account, user, 201, {"Location": f"{base_url(account)}/Users/{user.scim_id}"}, new=True)


def _get_user(account, token, body, scim_id):
    return _user_answer(account, _user_or_404(account, scim_id))


def _replace_user(account, token, body, scim_id):
    user = _user_or_404(account, scim_id)
    data = body()
    if isinstance(data, dict) and data.get("id") not in (None, scim_id):
        raise ScimError(400, "mutability", "id is read-only.")
    directory.update_user(account, user, resources.user_fields(data, replacing=True), token.actor)
    return _user_answer(account, user)


def _patch_user(account, token, body, scim_id):
    user = _user_or_404(account, scim_id)
    changes = patch.user_changes(patch.operations(body()), scim_id, user.email)
    directory.update_user(account, user, changes, token.actor)
    return _user_answer(account, user)


def _delete_user(account, token, body, scim_id):
    directory.delete_user(account, _user_or_404(account, scim_id), token.actor)
    return 204, None, {}


# ---- groups

def _group_or_404(account: Account, scim_id: str) -> Team:
    team = db.session.scalar(select(Team).where(Team.account_id == account.id, Team.scim_id == scim_id)) \
        if _could_be_id(scim_id) else None
    if team is None:
        raise ScimError(404, None, f"Group {printable(scim_id[:100])} not found.")
    return team


def _group_answer(account, team, status=200, headers=None):
    attrs, excluded = _attribute_params()
    members = resources.members_of(db.session, team) if resources.wants("members", attrs, excluded) else None
    data = resources.select_attributes(resources.group_json(team, base_url(account), members), attrs, excluded)
    return status, data, headers or {}


def _list_groups(account, token, body):
    node = filters.parse(request.args.get("filter"))
    where = [Team.account_id == account.id, Team.scim_id.is_not(None)]
    if node is not None:
        where.append(filters.groups_where(node))
    start, count = _paging()
    attrs, excluded = _attribute_params()
    total = db.session.scalar(select(func.count()).select_from(Team).where(*where))
    teams = list(db.session.scalars(select(Team).where(*where).order_by(Team.id).offset(start - 1).limit(count))) \
        if count else []
    with_members = resources.wants("members", attrs, excluded)
    base = base_url(account)
    found = [resources.select_attributes(resources.group_json(
        t, base, resources.members_of(db.session, t) if with_members else None), attrs, excluded) for t in teams]
    return 200, _list(found, total, start), {}


def _create_group(account, token, body):
    name, external_id, members = resources.group_fields(body())
    ids = directory.user_ids(account, members)
    team = directory.create_group(account, name, external_id, list(ids.values()), token.actor)
    return _group_answer(account, team, 201, {"Location": f"{base_url(account)}/Groups/{team.scim_id}"})


def _get_group(account, token, body, scim_id):
    return _group_answer(account, _group_or_404(account, scim_id))


def _replace_group(account, token, body, scim_id):
    team = _group_or_404(account, scim_id)
    data = body()
    if isinstance(data, dict) and data.get("id") not in (None, scim_id):
        raise ScimError(400, "mutability", "id is read-only.")
    name, external_id, members = resources.group_fields(data)
    ids = directory.user_ids(account, members)
    directory.update_group(account, team, token.actor, name=name, external_id=external_id, set_external_id=True,
                           replace=list(ids.values()))
    return _group_answer(account, team)


def _patch_group(account, token, body, scim_id):
    team = _group_or_404(account, scim_id)
    changes = patch.group_changes(patch.operations(body()), scim_id)
    add = directory.user_ids(account, changes["add"]).values()
    remove = directory.user_ids(account, changes["remove"], strict=False).values()  # already gone: fine
    replace = None if changes["replace"] is None else list(directory.user_ids(account, changes["replace"]).values())
    directory.update_group(account, team, token.actor, name=changes.get("name"),
                           external_id=changes.get("external_id"), set_external_id=changes.get("set_external_id", False),
                           add=add, remove=remove, replace=replace)
    if request.args.get("attributes") or request.args.get("excludedAttributes"):
        return _group_answer(account, team)
    return 204, None, {}


def _delete_group(account, token, body, scim_id):
    directory.delete_group(account, _group_or_404(account, scim_id), token.actor)
    return 204, None, {}


ROUTES = {
    ("ServiceProviderConfig", 1): {"GET": _spc},
    ("ResourceTypes", 1): {"GET": _resource_types},
    ("ResourceTypes", 2): {"GET": _resource_type},
    ("Schemas", 1): {"GET": _schemas},
    ("Schemas", 2): {"GET": _schema},
    ("Users", 1): {"GET": _list_users, "POST": _create_user},
    ("Users", 2): {"GET": _get_user, "PUT": _replace_user, "PATCH": _patch_user, "DELETE": _delete_user},
    ("Groups", 1): {"GET": _list_groups, "POST": _create_group},
    ("Groups", 2): {"GET": _get_group, "PUT": _replace_group, "PATCH": _patch_group, "DELETE": _delete_group},
}
