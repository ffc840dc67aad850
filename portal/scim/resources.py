"""SCIM resources <-> the directory: users and teams as JSON, request bodies as directory fields.

Bodies are validated with scim2-models (its pydantic User, Group and enterprise extension), answers are
built as plain dicts from the rows (a 10,000-member group is one query and one list, not 10,000 models).
"""
from __future__ import annotations

from pydantic import ValidationError
from scim2_models import Context, EnterpriseUser, Error, Group, User as ScimUser
from sqlalchemy import Row, bindparam, select

from portal.models import Team, TeamMembership, User, iso
from portal.scim import fastbody
from portal.scim.discovery import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA
from portal.scim.errors import ScimError

_members, _teams, _users = TeamMembership.__table__, Team.__table__, User.__table__
# Built once (each request only binds values): a page of users asks for their groups, a group for its members.
_GROUPS_OF = (select(_members.c.user_id, _teams.c.scim_id, _teams.c.name)
              .join(_teams, _teams.c.id == _members.c.team_id)
              .where(_members.c.user_id.in_(bindparam("user_ids", expanding=True)), _members.c.source == "scim",
                     _teams.c.scim_id.is_not(None)).order_by(_teams.c.name_key))
_MEMBERS_OF = (select(_users.c.scim_id, _users.c.email).join(_members, _members.c.user_id == _users.c.id)
               .where(_members.c.team_id == bindparam("team_id"), _members.c.source == "scim").order_by(_users.c.id))
ALWAYS = {"id", "schemas"}  # returned whatever attributes/excludedAttributes say (RFC 7643 §7 "always")
_FULL_USER = ScimUser[EnterpriseUser]


def user_json(user: User | Row, base: str, groups: list[tuple[str, str]] | None) -> dict:
    """A user (its object or its table row) as a SCIM User; groups: (scim id, name) of its SCIM groups, or None."""
    data = {
        "schemas": [USER_SCHEMA],
        "id": user.scim_id,
        "userName": user.email,
        "name": {"givenName": user.given_name, "familyName": user.family_name,
                 "formatted": " ".join(p for p in (user.given_name, user.family_name) if p)},
        "displayName": user.name or user.email,
        # userName is the login identity and the one email kept: other emails a request sent were ignored
        "emails": [{"value": user.email, "type": "work", "primary": True}],
        "active": bool(user.active),
        "meta": _meta("User", user, base),
    }
    if user.external_id is not None:
        data["externalId"] = user.external_id
    if groups is not None:
        data["groups"] = [{"value": gid, "display": name, "$ref": f"{base}/Groups/{gid}", "type": "direct"}
                          for gid, name in groups]
    return data


def _meta(resource_type: str, row: User | Team | Row, base: str) -> dict:
    return {"resourceType": resource_type, "created": iso(row.created_at),
            "lastModified": iso(row.updated_at or row.created_at),
            "location": f"{base}/{resource_type}s/{row.scim_id}"}


def group_json(team: Team, base: str, members: list[tuple[str, str]] | None) -> dict:
    """A team as a SCIM Group; members: (scim id, email) of its scim memberships, None when not wanted."""
    data = {
        "schemas": [GROUP_SCHEMA],
        "id": team.scim_id,
        "displayName": team.name,
        "meta": _meta("Group", team, base),
    }
    if team.scim_external_id is not None:
        data["externalId"] = team.scim_external_id
    if members is not None:
        users = f"{base}/Users/"
        data["members"] = [{"value": uid, "display": email, "$ref": users + uid, "type": "User"}
                           for uid, email in members]
    return data


def groups_of(session, user_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """For each user id, the (scim id, name) of the SCIM groups it is a scim member of: one query for a page."""
    found: dict[int, list[tuple[str, str]]] = {uid: [] for uid in user_ids}
    if not user_ids:
        return found
    for uid, gid, name in session.execute(_GROUPS_OF, {"user_ids": user_ids}):
        found[uid].append((gid, name))
    return found


def members_of(session, team: Team) -> list[tuple[str, str]]:
    """(scim id, email) of the team's scim members, by user id: one query of table rows (no ORM per row)."""
    return session.execute(_MEMBERS_OF, {"team_id": team.id}).all()


def _validation_error(exc: ValidationError) -> ScimError:
    first = exc.errors()[0]
    error = Error.from_validation_error(first)
    where = ".".join(str(p) for p in first.get("loc", ()))
    return ScimError(400, error.scim_type or "invalidValue", f"{where}: {first.get('msg', 'invalid value')}")


def _check_schemas(body: dict, core: str) -> None:
    schemas = body.get("schemas")
    if schemas is None:
        return
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise ScimError(400, "invalidSyntax", "schemas must be a list of schema URNs.")
    if core.lower() not in {s.lower() for s in schemas}:
        raise ScimError(400, "invalidSyntax", f"schemas must contain {core}.")


def user_fields(body, replacing: bool) -> dict:
    """Directory fields (portal.directory.scim.USER_FIELDS) from a POST or PUT /Users body."""
    if not isinstance(body, dict):
        raise ScimError(400, "invalidSyntax", "The body must be a JSON object.")
    _check_schemas(body, USER_SCHEMA)
    # userName (the NameID the IdP sends; checked by the directory, the one rule for every door) is the login
    # identity and the one email kept. An emails entry that differs, primary or not, is accepted and ignored: Entra ID
    # sends the user's mail beside a UPN userName. Emails are checked here only for their shape (the library's email
    # check would refuse reserved test domains the portal accepts).
    _check_emails(body.get("emails"))
    body = {k: v for k, v in body.items() if k != "emails"}
    fields = fastbody.user_fields(body, replacing)  # None: not a plain body, the library's model decides
    if fields is None:
        fields = _model_fields(body, replacing)
    return fields


def _model_fields(body: dict, replacing: bool) -> dict:
    """Directory fields of a User body (without emails) validated by scim2-models' User with its extension."""
    ctx = Context.RESOURCE_REPLACEMENT_REQUEST if replacing else Context.RESOURCE_CREATION_REQUEST
    try:
        user = _FULL_USER.model_validate(body, scim_ctx=ctx)
    except ValidationError as exc:
        raise _validation_error(exc) from None
    given = (user.name.given_name if user.name else None) or ""
    family = (user.name.family_name if user.name else None) or ""
    display = user.display_name or " ".join(p for p in (given, family) if p)
    fields = {"email": user.user_name, "external_id": user.external_id, "given_name": given[:200],
              "family_name": family[:200], "name": display[:200]}
    if user.active is not None:
        fields["active"] = bool(user.active)
    elif not replacing:
        fields["active"] = True
    return fields


def _check_emails(emails) -> None:
    """400 invalidValue unless emails is absent or a list of objects whose primary one has a string value (or none)."""
    if emails is None:
        return
    if not isinstance(emails, list) or not all(isinstance(e, dict) for e in emails):
        raise ScimError(400, "invalidValue", "emails must be a list of objects.")
    primary = primary_entry(emails)
    if primary is not None and not isinstance(primary.get("value"), (str, type(None))):
        raise ScimError(400, "invalidValue", "emails.value must be a string.")


def primary_entry(emails: list[dict], lone_work: bool = False) -> dict | None:
    """The entry of an emails list that is the primary one: primary true, or "true" in any case (Entra ID sends
    strings); with lone_work, also a lone entry without primary (or null) whose type is absent or work."""
    primary = next((e for e in emails if _true(e.get("primary"))), None)
    if primary is None and lone_work and len(emails) == 1 and emails[0].get("primary") is None \
            and str(emails[0].get("type") or "work").strip().lower() == "work":
        primary = emails[0]
    return primary


def _true(value) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def group_fields(body) -> tuple[str, str | None, list[str]]:
    """(displayName, externalId, member ids) from a POST or PUT /Groups body."""
    if not isinstance(body, dict):
        raise ScimError(400, "invalidSyntax", "The body must be a JSON object.")
    _check_schemas(body, GROUP_SCHEMA)
    members = body.get("members")
    body = {k: v for k, v in body.items() if k != "members"}  # members are checked here: 10,000 need no model
    try:
        group = Group.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    except ValidationError as exc:
        raise _validation_error(exc) from None
    return group.display_name, group.external_id, member_values(members)


def member_values(members) -> list[str]:
    """The user ids of a members list ([{"value": id}, ...]); 400 invalidValue for anything else."""
    if members is None:
        return []
    if not isinstance(members, list):
        raise ScimError(400, "invalidValue", "members must be a list of {\"value\": user id}.")
    values = []
    for member in members:
        value = member.get("value") if isinstance(member, dict) else None
        if not isinstance(value, str) or not value:
            raise ScimError(400, "invalidValue", "Each member needs a \"value\": the id of a user.")
        values.append(value)
    return values


def select_attributes(data: dict, attributes: list[str] | None, excluded: list[str] | None) -> dict:
    """Apply the attributes / excludedAttributes parameters (top-level and sub-attribute names, any case)."""
    if attributes:
        wanted = _paths(attributes)
        kept = {}
        for key, value in data.items():
            subs = wanted.get(key.lower())
            if key in ALWAYS or key.lower() in ALWAYS:
                kept[key] = value
            elif subs is not None:
                kept[key] = _sub(value, subs, keep=True) if subs else value
        return kept
    if excluded:
        unwanted = _paths(excluded)
        kept = {}
        for key, value in data.items():
            subs = unwanted.get(key.lower())
            if subs is None or key in ALWAYS:
                kept[key] = value
            elif subs:
                kept[key] = _sub(value, subs, keep=False)
        return kept
    return data


def _paths(names: list[str]) -> dict[str, set[str]]:
    paths: dict[str, set[str]] = {}
    for name in names:
        name = name.strip()
        low = name.lower()
        for urn in (USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_SCHEMA):
            if low.startswith(urn.lower() + ":"):
                low = low[len(urn) + 1:]
        if not low:
            continue
        attr, _, sub = low.partition(".")
        entry = paths.setdefault(attr, set())
        if sub:
            entry.add(sub)
        else:
            paths[attr] = set()  # the whole attribute
    return paths


def _sub(value, subs: set[str], keep: bool):
    def one(item):
        if not isinstance(item, dict):
            return item
        return {k: v for k, v in item.items() if (k.lower() in subs) == keep}
    return [one(v) for v in value] if isinstance(value, list) else one(value)


def wants(attribute: str, attributes: list[str] | None, excluded: list[str] | None) -> bool:
    """Whether an answer needs an (expensive) attribute such as groups or members."""
    low = attribute.lower()
    if attributes:
        return low in _paths(attributes)
    if excluded:
        return _paths(excluded).get(low) != set()
    return True
