"""flask sso-config ...: the SSO settings for operators (same services and rules as the form)."""
from __future__ import annotations

from portal.cli import PortalGroup

sso_config_cli = PortalGroup("sso-config", help="Show, change and check an account's SSO settings.")

GROUPS = [sso_config_cli]
