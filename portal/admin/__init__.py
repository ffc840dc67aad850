"""Admin pages: teams and roles, users, audit log."""
from portal.admin import audit_views  # noqa: F401 - adds /admin/audit to bp
from portal.admin.views import bp

__all__ = ["bp"]
