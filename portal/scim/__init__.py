"""SCIM 2.0 provisioning (RFC 7643/7644) for Okta and Entra ID: the blueprint, re-exported."""
from portal.scim.views import bp

__all__ = ["bp"]
