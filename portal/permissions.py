"""Permissions, predefined roles, the permission decorator and account-scoping helpers."""
from __future__ import annotations

from functools import wraps

from flask import abort, g
from flask_login import current_user, login_required

from portal.extensions import db

MANAGE_SSO = "manage_sso"
MANAGE_TEAMS = "manage_teams"
MANAGE_USERS = "manage_users"
VIEW_AUDIT_LOG = "view_audit_log"
MANAGE_API_KEYS = "manage_api_keys"
VIEW_ANALYTICS = "view_analytics"
MANAGE_BILLING = "manage_billing"

PERMISSIONS = {
    MANAGE_SSO: "Configure single sign-on",
    MANAGE_TEAMS: "Manage teams and their roles",
    MANAGE_USERS: "Manage users and their roles",
    VIEW_AUDIT_LOG: "View the audit log",
    MANAGE_API_KEYS: "Create and revoke API keys",
    VIEW_ANALYTICS: "View analytics and reports",
    MANAGE_BILLING: "Manage billing, invoices and payment methods",
}

ACCOUNT_ADMIN = "Account admin"
# Seeded by the first migration; tests/test_migrations.py checks the two agree.
PREDEFINED_ROLES = [
    (ACCOUNT_ADMIN, "Every permission, including SSO, teams, users and the audit log", list(PERMISSIONS)),
    ("Developer", "API keys and analytics", [MANAGE_API_KEYS, VIEW_ANALYTICS]),
    ("Analyst", "Analytics and reports", [VIEW_ANALYTICS]),
    ("Billing", "Billing, invoices and payment methods", [MANAGE_BILLING]),
]


class PermissionDenied(Exception):
    """The current user lacks a permission, or the object belongs to another account."""

    def __init__(self, permission: str | None = None, message: str | None = None):
        super().__init__(message or permission)
        self.permission = permission
        self.message = message


def seed_roles() -> None:
    """Insert the predefined roles that are missing (used by tests and create_all setups)."""
    from portal.models import Role

    existing = {r.name for r in db.session.scalars(db.select(Role))}
    for name, description, perms in PREDEFINED_ROLES:
        if name not in existing:
            db.session.add(Role(name=name, description=description, permissions=perms))
    db.session.flush()


def current_permissions() -> set[str]:
    """The signed-in user's effective permissions, computed once per request."""
    if not current_user.is_authenticated:
        return set()
    if "permissions" not in g:
        g.permissions = current_user.permissions()
    return g.permissions


def require_permission(permission: str):
    """View decorator: sign-in required, then the permission, else the forbidden page."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if permission not in current_permissions():
                raise PermissionDenied(permission)
            return view(*args, **kwargs)
        wrapped.required_permission = permission
        return wrapped
    return decorator


def get_owned_or_404(model, object_id):
    """Load a tenant row by id for the current account; another account's row is a 404, like a missing one."""
    obj = db.session.get(model, object_id)
    if obj is None or obj.account_id != current_user.account_id:
        abort(404)
    return obj
