"""All models, importable from one place."""
from portal.models.account import Account, domain_problem, normalise_domain
from portal.models.audit import AuditEvent
from portal.models.base import iso, utcnow
from portal.models.sso import ClaimedEmailDomain, IdpCertificate, PendingAuthnRequest, SeenAssertion, SsoConfig
from portal.models.user import Role, Team, TeamMembership, User, normalise_email, team_roles, user_roles

__all__ = [
    "Account", "AuditEvent", "ClaimedEmailDomain", "IdpCertificate", "PendingAuthnRequest", "Role",
    "SeenAssertion", "SsoConfig", "Team", "TeamMembership", "User", "domain_problem", "normalise_domain",
    "iso", "normalise_email", "team_roles", "user_roles", "utcnow",
]
