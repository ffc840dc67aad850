"""Every audit event type and every reason code outside SSO logins (those are portal.sso.reasons.Reason).

README's "Audit events" table documents each type; tests/audit/test_events.py keeps the two in step.
"""
from __future__ import annotations

from enum import Enum


class Event(str, Enum):
    """The type of an audit event (AuditEvent.event_type)."""

    ACCOUNT_CREATED = "account.created"
    ACCOUNT_DOMAIN_CHANGED = "account.domain_changed"
    ACCOUNT_DELETED = "account.deleted"
    AUDIT_EXPORTED = "audit.exported"
    AUDIT_PRUNED = "audit.pruned"
    LOGIN_PASSWORD = "login.password"
    LOGIN_PASSWORD_BREAK_GLASS = "login.password.break_glass"
    SSO_LOGIN = "sso.login"
    SSO_LOGIN_FAILURES_COUNTED = "sso.login_failures_counted"
    SSO_TEST = "sso.test"
    SSO_UNSOLICITED_RESTARTED = "sso.unsolicited_restarted"  # an IdP-initiated response, restarted as SP-initiated
    SSO_SETTINGS_UPDATED = "sso.settings_updated"
    SSO_CERTIFICATE_ADDED = "sso.certificate_added"
    SSO_CERTIFICATE_REMOVED = "sso.certificate_removed"
    SSO_METADATA_IMPORTED = "sso.metadata_imported"
    SSO_METADATA_URL_SET = "sso.metadata_url_set"
    SSO_METADATA_REFRESHED = "sso.metadata_refreshed"
    SSO_METADATA_REFRESH_FAILED = "sso.metadata_refresh_failed"
    SSO_SP_KEY_CREATED = "sso.sp_key_created"
    SSO_SP_KEY_ROTATION_STARTED = "sso.sp_key_rotation_started"
    SSO_SP_KEY_ROTATION_FINISHED = "sso.sp_key_rotation_finished"
    SSO_EMAIL_DOMAINS_UPDATED = "sso.email_domains_updated"
    SSO_EMAIL_DOMAIN_VERIFIED = "sso.email_domain.verified"
    SSO_EMAIL_DOMAIN_CHECK_FAILED = "sso.email_domain.check_failed"
    SSO_GROUP_SYNC_SKIPPED = "sso.group_sync_skipped"
    SSO_GROUPS_TRUNCATED = "sso.groups_truncated"
    TEAM_CREATED = "team.created"
    TEAM_RENAMED = "team.renamed"
    TEAM_DELETED = "team.deleted"
    TEAM_AUTO_CREATED = "team.auto_created"
    TEAM_MEMBERSHIP_ADDED = "team.membership_added"
    TEAM_MEMBERSHIP_REMOVED = "team.membership_removed"
    TEAM_ROLE_GRANTED = "team.role_granted"
    TEAM_ROLE_REVOKED = "team.role_revoked"
    USER_CREATED = "user.created"
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    USER_ROLE_GRANTED = "user.role_granted"
    USER_ROLE_REVOKED = "user.role_revoked"
    USER_SIGNED_OUT = "user.signed_out"
    USER_PASSWORD_CHANGED = "user.password_changed"
    USER_BREAK_GLASS_CHANGED = "user.break_glass_changed"
    ACCOUNT_DEFAULT_ROLE_CHANGED = "account.default_role_changed"
    SCIM_TOKEN_CREATED = "scim.token.created"
    SCIM_TOKEN_REVOKED = "scim.token.revoked"
    SCIM_USER_CREATED = "scim.user.created"
    SCIM_USER_UPDATED = "scim.user.updated"
    SCIM_USER_DEACTIVATED = "scim.user.deactivated"
    SCIM_USER_REACTIVATED = "scim.user.reactivated"
    SCIM_USER_DELETED = "scim.user.deleted"
    SCIM_GROUP_CREATED = "scim.group.created"
    SCIM_GROUP_UPDATED = "scim.group.updated"
    SCIM_GROUP_DELETED = "scim.group.deleted"
    SCIM_REQUEST_REFUSED = "scim.request.refused"


class Reason(str, Enum):
    """Machine reason of a failure or warning that is not an SSO login's (AuditEvent.reason)."""

    LAST_ACCOUNT_ADMIN = "last_account_admin"  # the change would leave the account without an Account admin
    WRONG_PASSWORD = "wrong_password"
    USER_INACTIVE = "user_inactive"
    SSO_REQUIRED = "sso_required"  # a correct password, but the account requires SSO
    TOO_MANY_GROUPS = "too_many_groups"  # sso.groups_truncated
    GROUP_ATTRIBUTE_MISSING = "group_attribute_missing"  # sso.group_sync_skipped: the safety rail held ...
    TOO_MANY_TEAM_REMOVALS = "too_many_team_removals"
    GROUP_FILTER_INVALID = "group_filter_invalid"
    # sso.email_domain.check_failed: why the TXT record check did not verify the email domain
    DNS_NO_TXT_RECORD = "no_txt_record"
    DNS_WRONG_TOKEN = "wrong_token"
    DNS_NXDOMAIN = "nxdomain"
    DNS_RESOLVER_TIMEOUT = "resolver_timeout"
    DNS_RESOLVER_ERROR = "resolver_error"
    EMAIL_DOMAIN_OF_OTHER_ACCOUNT = "email_domain_of_other_account"  # another account verified it first
    # sso.metadata_refresh_failed: why the IdP metadata URL could not be fetched or used
    METADATA_URL_REFUSED = "metadata_url_refused"  # not https (http only on loopback in the try-out), bad URL
    METADATA_ADDRESS_REFUSED = "metadata_address_refused"  # resolves to a private, loopback, reserved... address
    METADATA_FETCH_FAILED = "metadata_fetch_failed"  # no such host, connection refused or reset
    METADATA_TLS_FAILED = "metadata_tls_failed"  # certificate not trusted or not valid for the name
    METADATA_TIMEOUT = "metadata_timeout"
    METADATA_TOO_LARGE = "metadata_too_large"
    METADATA_HTTP_STATUS = "metadata_http_status"  # not 200 (or too many redirects)
    METADATA_INVALID = "metadata_invalid"  # fetched, but not usable IdP metadata
