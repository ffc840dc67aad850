"""The audit log page and its exports (registered on the admin blueprint)."""
from __future__ import annotations

from portal.admin.views import bp  # noqa: F401 - routes of this module are added to the admin blueprint
