"""Admin pages: teams and roles, users, audit log."""
from portal.admin.views import bp

__all__ = ["bp"]
