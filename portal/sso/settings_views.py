"""Account settings → Security → Single Sign-On (registered on the sso blueprint)."""
from __future__ import annotations

from portal.sso.views import bp  # noqa: F401 - routes of this module are added to the sso blueprint
