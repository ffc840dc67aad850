"""Account settings → Security → Single Sign-On: settings, certificates, metadata import, diagnostics, CLI."""
from portal.sso.setup.views import bp

__all__ = ["bp"]
