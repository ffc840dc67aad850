"""All models, importable from one place."""
from portal.models.account import Account, ReleasedDomain, domain_problem, normalise_domain
from portal.models.audit import AuditEvent
from portal.models.base import iso, utcnow
from portal.models.protocols import AccountView
from portal.models.scim import ScimActor, ScimToken
from portal.models.session import RememberToken, UserSession
from portal.models.sp_key import SP_KEY_CURRENT, SP_KEY_NEXT, SpKey
from portal.models.sso import (EmailDomain, IdpCertificate, PendingAuthnRequest, SeenAssertion, SsoConfig,
                               SsoTestResult)
from portal.models.user import (Role, Team, TeamMembership, User, UserRef, new_scim_id, normalise_email,
                               team_roles, user_roles)

__all__ = [
    "Account", "AccountView", "AuditEvent", "EmailDomain", "IdpCertificate", "PendingAuthnRequest",
    "ReleasedDomain", "RememberToken", "Role", "ScimActor", "ScimToken", "SeenAssertion", "SsoConfig", "SsoTestResult",
    "SP_KEY_CURRENT", "SP_KEY_NEXT", "SpKey",
    "Team", "TeamMembership", "User", "UserRef", "UserSession", "domain_problem", "iso", "new_scim_id",
    "normalise_domain", "normalise_email", "team_roles",
    "user_roles", "utcnow",
]
