"""The one way SSO settings change: set the fields that differ, bump the settings' version, audit the change.

The version keys the per-process python3-saml settings (sso/saml.py), so every change that alters what a login
checks (a field, a certificate, an SP key, the custom domain in the SP URLs) goes through record().
"""
from __future__ import annotations

from portal import audit
from portal.audit import Event
from portal.models import AccountView, SsoConfig


def set_fields(config: SsoConfig, wanted: dict) -> dict[str, tuple]:
    """Set each field of wanted that differs on config; {field: (old, new)} of those that changed."""
    changes = {}
    for field, new in wanted.items():
        old = getattr(config, field)
        if old != new:
            setattr(config, field, new)
            changes[field] = (old, new)
    return changes


def record(account: AccountView, config: SsoConfig | None, changes: dict[str, tuple], *, actor=None,
           also_changed: bool = False, **details) -> None:
    """Bump config's version when anything changed, and audit the field changes as one sso.settings_updated event.

    also_changed: something that is no field changed too (certificates, SP keys, the custom domain); their own
    services audit those under their own event types.
    """
    if config is None or not (changes or also_changed):
        return
    config.version = (config.version or 1) + 1
    if changes:
        audit.record(account, Event.SSO_SETTINGS_UPDATED, actor=actor, subject=account.domain,
                     changes={k: {"old": old, "new": new} for k, (old, new) in changes.items()}, **details)
