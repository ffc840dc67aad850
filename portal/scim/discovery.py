"""ServiceProviderConfig, ResourceTypes and Schemas (RFC 7643 §5-7), built with scim2-models."""
from __future__ import annotations

from functools import lru_cache

from scim2_models import (AuthenticationScheme, Bulk, ChangePassword, Context, ETag, Filter, Group, Patch,
                          ResourceType, ServiceProviderConfig, Sort, User)

from portal.scim.errors import ScimError

MAX_RESULTS = 200  # filter.maxResults: `count` is capped here
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _dump(model) -> dict:
    return model.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, exclude_none=True)


def service_provider_config(base: str) -> dict:
    """What this service offers: PATCH and filters (200 results at most), no bulk, sort, ETags or password change."""
    config = ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[AuthenticationScheme(
            type="oauthbearertoken", name="Bearer token", primary=True,
            description="Authorization: Bearer <token>; create tokens in Account settings → Security → "
                        "Provisioning (SCIM) or with flask scim token create.")],
    )
    data = _dump(config)
    data["meta"] = {"resourceType": "ServiceProviderConfig", "location": f"{base}/ServiceProviderConfig"}
    return data


@lru_cache(maxsize=1)
def _resource_types() -> tuple[dict, ...]:
    user = ResourceType(id="User", name="User", description="People of the account", endpoint="/Users",
                        schema_=USER_SCHEMA)
    group = ResourceType(id="Group", name="Group", description="Teams of the account", endpoint="/Groups",
                         schema_=GROUP_SCHEMA)
    return tuple(_dump(r) for r in (user, group))


def resource_types(base: str) -> list[dict]:
    """The User and Group resource types, each with its meta.location."""
    return [dict(r, meta={"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/{r['id']}"})
            for r in _resource_types()]


# The attributes the portal keeps; the published schemas list only these (others are accepted and ignored,
# like the enterprise extension Entra ID sends), so a client reading /Schemas knows what round-trips.
KEPT = {"User": {"userName": None, "name": {"givenName", "familyName", "formatted"}, "displayName": None,
                 "emails": {"value", "type", "primary"}, "active": None, "groups": None},
        "Group": {"displayName": None, "members": None}}


@lru_cache(maxsize=1)
def _schemas() -> tuple[dict, ...]:
    schemas = []
    for model in (User, Group):
        schema = _dump(model.to_schema())
        kept = KEPT[schema["name"]]
        attributes = []
        for attribute in schema["attributes"]:
            if attribute["name"] not in kept:
                continue
            subs = kept[attribute["name"]]
            if subs is not None and "subAttributes" in attribute:
                attribute = dict(attribute, subAttributes=[a for a in attribute["subAttributes"] if a["name"] in subs])
            attributes.append(attribute)
        schemas.append(dict(schema, attributes=attributes))
    return tuple(schemas)


def schemas(base: str) -> list[dict]:
    """The User and Group schemas (the attributes the portal keeps), each with its meta.location."""
    return [dict(s, meta={"resourceType": "Schema", "location": f"{base}/Schemas/{s['id']}"}) for s in _schemas()]


def one(items: list[dict], wanted: str, what: str) -> dict:
    """The item whose id is wanted (case-insensitive), or 404."""
    found = next((i for i in items if i["id"].lower() == wanted.lower()), None)
    if found is None:
        raise ScimError(404, None, f"No {what} {wanted!r}.")
    return found


def list_response(resources: list[dict]) -> dict:
    """A ListResponse holding every item (discovery endpoints are not paged)."""
    return {"schemas": [LIST_SCHEMA], "totalResults": len(resources), "startIndex": 1,
            "itemsPerPage": len(resources), "Resources": resources}
