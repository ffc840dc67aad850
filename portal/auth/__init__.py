"""Sign-in: password login, Log in with SSO, logout, the dashboard, and the session itself (sessions.py)."""
from portal.auth.views import bp

__all__ = ["bp"]
