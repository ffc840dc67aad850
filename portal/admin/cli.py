"""flask teams ...: teams, manual memberships and role grants for operators."""
from __future__ import annotations

from portal.cli import PortalGroup

teams_cli = PortalGroup("teams", help="List teams, manage manual members, grant and revoke roles.")

GROUPS = [teams_cli]
