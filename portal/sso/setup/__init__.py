"""Account settings → Security → Single Sign-On: settings, certificates, metadata import, diagnostics, CLI."""
import portal.sso.setup.actions  # noqa: F401 - registers Refresh now, Test SSO and SP certificates on bp
from portal.sso.setup.views import bp

__all__ = ["bp"]
