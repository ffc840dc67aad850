"""SSO: SAML login and the account's SSO settings."""
from portal.sso.views import bp

__all__ = ["bp"]
