"""Attribute mapping: which SAML attributes hold the groups, first name and last name; IdP presets.

The settings page and `flask sso-config set --attribute-preset/--group-attribute/...` both call apply().
"""
from __future__ import annotations

from dataclasses import dataclass

from portal.models import Account, SsoConfig
from portal.models.sso import OKTA_GROUP_ATTRIBUTE
from portal.errors import FieldErrors
from portal.sso.setup import changes
from portal.sso.setup.settings import Outcome, get_config

ENTRA_CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
FIELDS = ("group_attribute", "first_name_attribute", "last_name_attribute")
LABELS = {"attribute_preset": "Attribute preset", "group_attribute": "Group attribute",
          "first_name_attribute": "First name attribute", "last_name_attribute": "Last name attribute"}
MAX_NAME = 1000


@dataclass(frozen=True)
class Preset:
    label: str
    group_attribute: str
    first_name_attribute: str
    last_name_attribute: str


PRESETS = {
    # Okta: the guide's Group Attribute Statement, and Okta's user profile names in attribute statements.
    "okta": Preset("Okta", OKTA_GROUP_ATTRIBUTE, "firstName", "lastName"),
    # Entra ID's default claims ("Attributes & Claims") and its group claim.
    "entra": Preset("Microsoft Entra ID", "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
                    ENTRA_CLAIMS + "givenname", ENTRA_CLAIMS + "surname"),
    # Google Workspace: the "App attribute" names typed in the app's Attribute mapping.
    "google": Preset("Google Workspace", "groups", "firstName", "lastName"),
}
CUSTOM = "custom"


class MappingError(FieldErrors):
    """An attribute mapping change was refused; errors maps each field to its message."""

    labels = LABELS


def preset_of(config: SsoConfig) -> str:
    """The preset whose three names the config has, else "custom"."""
    names = tuple(getattr(config, f) for f in FIELDS)
    return next((key for key, p in PRESETS.items() if names == tuple(getattr(p, f) for f in FIELDS)), CUSTOM)


def describe(config: SsoConfig) -> dict:
    """`sso-config show --json`'s attribute_mapping."""
    return {"preset": preset_of(config), **{f: getattr(config, f) for f in FIELDS}}


def check_name(field: str, value: str) -> str:
    """An attribute name trimmed, or MappingError: not empty, one line without spaces, at most MAX_NAME."""
    name = (value or "").strip()
    if not name:
        raise MappingError({field: f"Enter the {LABELS[field].lower()}'s name exactly as the IdP sends it."})
    if len(name) > MAX_NAME or any(c.isspace() or not c.isprintable() for c in name):
        raise MappingError({field: f"The {LABELS[field].lower()} is one name without spaces (for example "
                                    f"{PRESETS['entra'].group_attribute}), at most {MAX_NAME} characters."})
    return name


def apply(account: Account, preset: str | None = None, actor=None, **names: str | None) -> Outcome:
    """Set the preset's names, then any given names (group_attribute=...); audit and bump the version."""
    if preset == CUSTOM:
        raise MappingError({"attribute_preset": "For custom names, type them below and press Save attribute "
                                                "names."})
    if preset is not None and preset not in PRESETS:
        raise MappingError({"attribute_preset": f"Unknown preset '{preset}': choose one of "
                                                 f"{', '.join(PRESETS)}."})
    unknown = set(names) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown attribute mapping fields: {sorted(unknown)}")
    wanted = {f: getattr(PRESETS[preset], f) for f in FIELDS} if preset else {}
    errors = {}
    for field, value in names.items():
        if value is not None:
            try:
                wanted[field] = check_name(field, value)
            except MappingError as exc:
                errors.update(exc.errors)
    if errors:
        raise MappingError(errors)
    config = get_config(account)
    outcome = Outcome(changes=changes.set_fields(config, wanted))
    changes.record(account, config, outcome.changes, actor=actor, attribute_preset=preset_of(config))
    return outcome
