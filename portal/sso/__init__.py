"""SSO: SP-initiated SAML login, the ACS and SP metadata; the account's SSO settings live in sso.setup."""
from portal.sso.views import bp

__all__ = ["bp"]
