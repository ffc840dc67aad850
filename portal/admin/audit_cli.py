"""flask audit ...: export and prune the audit log."""
from __future__ import annotations

from portal.cli import PortalGroup

audit_cli = PortalGroup("audit", help="Export and prune audit events.")

GROUPS = [audit_cli]
