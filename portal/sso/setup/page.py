"""The SSO page's blueprint and what its views and actions share: where each section sits, who is acting."""
from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import current_user

bp = Blueprint("sso_setup", __name__, url_prefix="/settings/security/sso")

# Where each section sits on the page: a saved form comes back there, with its message inside it.
ANCHORS = {"domain": "step-1", "idp": "step-3", "certificates": "certificates", "metadata": "metadata",
           "test": "step-4", "enable": "step-5", "require_sso": "require-sso", "email_domains": "email-domains",
           "metadata_url": "metadata-url", "attribute_mapping": "attribute-mapping", "sp_keys": "sp-keys"}


def acting_admin():
    """The signed-in admin (the actor of what the page changes)."""
    return current_user._get_current_object()


def back_to(section: str):
    """After a save: the page, scrolled to the section that shows the message."""
    return redirect(url_for("sso_setup.settings") + "#" + ANCHORS[section])
