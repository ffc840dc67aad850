"""Account settings → Security → Provisioning (SCIM): the page, re-exported."""
from portal.scim.setup.views import bp

__all__ = ["bp"]
