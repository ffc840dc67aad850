"""Who may use a password: Require SSO and break-glass, read by the password login and by "Keep me signed in"."""
from __future__ import annotations

from portal.models import User
from portal.permissions import ACCOUNT_ADMIN


def requires_sso(user: User) -> bool:
    """Whether the user's account requires SSO (Require SSO is on and SSO is enabled)."""
    config = user.account.sso_config
    return bool(config is not None and config.enabled and config.require_sso)


def may_break_glass(user: User) -> bool:
    """Whether user is a break-glass admin: marked, and an Account admin."""
    return user.break_glass and any(r.name == ACCOUNT_ADMIN for r in user.effective_roles())


def password_refused(user: User) -> bool:
    """Whether a password login of user would be refused by Require SSO (a remember-me cookie came from one)."""
    return requires_sso(user) and not may_break_glass(user)
