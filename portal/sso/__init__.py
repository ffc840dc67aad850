"""SSO: SAML login and the account's SSO settings."""
from portal.sso import settings_views  # noqa: F401 - adds the settings pages to bp
from portal.sso import test_views  # noqa: F401 - adds Test SSO to bp
from portal.sso.views import bp

__all__ = ["bp"]
