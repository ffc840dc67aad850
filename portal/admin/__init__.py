"""Admin pages: teams and roles, users, audit log."""
from portal.admin import audit_views, user_views  # noqa: F401 - add /admin/audit and /admin/users to bp
from portal.admin.views import bp

__all__ = ["bp"]
