"""SSO configuration of an account and the server-side SAML state."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ColumnElement, ForeignKey, Index, String, Text, UniqueConstraint, exists, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.account import Account
from portal.models.base import utcnow

OKTA_GROUP_ATTRIBUTE = "http://schemas.xmlsoap.org/claims/Group"  # the guide's Group Attribute Statement name


class SsoConfig(db.Model):
    """One per account: the IdP fields and options of Account settings → Security → SSO."""
    __tablename__ = "sso_config"

    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    idp_login_url: Mapped[str | None] = mapped_column(String(2000))
    idp_issuer: Mapped[str | None] = mapped_column(String(1000))
    auto_create_users: Mapped[bool] = mapped_column(default=False)
    auto_create_groups: Mapped[bool] = mapped_column(default=False)
    group_filter: Mapped[str | None] = mapped_column(String(1000))
    # Older Okta orgs send all groups joined in one value ("a, b; c").
    split_group_values: Mapped[bool] = mapped_column(default=False)
    # Attribute mapping (portal/sso/setup/attributes.py): which SAML attributes hold groups and names.
    group_attribute: Mapped[str] = mapped_column(String(1000), default=OKTA_GROUP_ATTRIBUTE,
                                                 server_default=OKTA_GROUP_ATTRIBUTE)
    first_name_attribute: Mapped[str] = mapped_column(String(1000), default="firstName", server_default="firstName")
    last_name_attribute: Mapped[str] = mapped_column(String(1000), default="lastName", server_default="lastName")
    # Require SSO: the account's people cannot use a password (break-glass admins excepted) while SSO is on.
    require_sso: Mapped[bool] = mapped_column(default=False)
    # IdP metadata URL (Okta: "Metadata URL"): refreshed by `flask sso-config refresh-metadata` and the page.
    idp_metadata_url: Mapped[str | None] = mapped_column(String(2000))
    metadata_refreshed_at: Mapped[datetime | None]  # the last refresh attempt, successful or not
    metadata_refresh_error: Mapped[str | None] = mapped_column(Text)  # None: the last attempt succeeded
    metadata_refresh_reason: Mapped[str | None] = mapped_column(String(64))
    # Signed AuthnRequests and encrypted assertions, with the account's SP key pair (models/sp_key.py).
    sign_requests: Mapped[bool] = mapped_column(default=False)
    want_encrypted_assertions: Mapped[bool] = mapped_column(default=False)
    # Bumped on every change so per-process caches of SAML settings know to reload.
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    account: Mapped[Account] = relationship(back_populates="sso_config")
    certificates: Mapped[list[IdpCertificate]] = relationship(
        primaryjoin="SsoConfig.account_id == foreign(IdpCertificate.account_id)",
        order_by="IdpCertificate.id", viewonly=True)


class IdpCertificate(db.Model):
    """An active IdP signing certificate; several may be active during rotation."""
    __tablename__ = "idp_certificate"
    __table_args__ = (UniqueConstraint("account_id", "sha256_fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    pem: Mapped[str] = mapped_column(Text)  # normalised PEM, one certificate
    sha256_fingerprint: Mapped[str] = mapped_column(String(95))  # AA:BB:... upper-case
    sha1_fingerprint: Mapped[str] = mapped_column(String(59))
    subject: Mapped[str] = mapped_column(String(1000))
    issuer: Mapped[str] = mapped_column(String(1000))
    serial: Mapped[str] = mapped_column(String(100))
    not_before: Mapped[datetime]
    not_after: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When a metadata URL refresh last listed it; one gone longer than PORTAL_CERT_GRACE_DAYS is removed.
    last_seen_in_metadata_at: Mapped[datetime | None]


class EmailDomain(db.Model):
    """An email domain (example.com) an account lists; once proven by DNS, /login/sso sends its people here.

    Any account may list any domain, each with its own token; the TXT record proves it. verified_domain
    is set only while verified and is unique, so one account at most holds a domain as verified.
    """
    __tablename__ = "email_domain"
    __table_args__ = (UniqueConstraint("account_id", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(253))
    token: Mapped[str] = mapped_column(String(64))
    verified_domain: Mapped[str | None] = mapped_column(String(253), unique=True)
    verified_at: Mapped[datetime | None]
    last_checked_at: Mapped[datetime | None]
    last_check_result: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def verified_owner(cls, domain: str) -> int | None:
        """The id of the account that has verified this email domain, if any."""
        return db.session.scalar(select(cls.account_id).where(cls.verified_domain == domain.lower()))

    @classmethod
    def verified_elsewhere(cls, email: str, account_id: int) -> bool:
        """Whether another account has verified email's domain (no one else may create users at it)."""
        return bool(db.session.scalar(select(cls.verified_elsewhere_clause(email_domain(email), account_id))))

    @classmethod
    def verified_elsewhere_clause(cls, domain, account_id) -> ColumnElement[bool]:
        """verified_elsewhere as a SQL condition, for a statement that must not write when it holds (values or
        bind parameters; domain lower-cased by the caller)."""
        return exists().where(cls.verified_domain == domain, cls.account_id != account_id)


def email_domain(email: str) -> str:
    """The lower-cased domain of an email address."""
    return email.rsplit("@", 1)[-1].lower()


class PendingAuthnRequest(db.Model):
    """An AuthnRequest we sent; the ACS accepts one response to it, once, before it expires."""
    __tablename__ = "pending_authn_request"

    request_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    next_url: Mapped[str] = mapped_column(String(2000), default="/")
    # Set for an admin's "Test SSO" run: validate and report, change nothing.
    test_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))


class SeenAssertion(db.Model):
    """Assertion IDs already accepted, kept until their NotOnOrAfter (replay store)."""
    __tablename__ = "seen_assertion"

    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    assertion_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SsoTestResult(db.Model):
    """The outcome of an admin's Test SSO run; its result page reads only this row, found by reference.

    The IdP's cross-site post may arrive without the admin's session cookie, so the ACS stores the
    result and the admin's browser is sent to /settings/security/sso/test/<reference> to read it.
    """
    __tablename__ = "sso_test_result"
    __table_args__ = (Index("ix_sso_test_result_account_id_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    time: Mapped[datetime] = mapped_column(default=utcnow)
    tester_email: Mapped[str] = mapped_column(String(320), default="")
    outcome: Mapped[str] = mapped_column(String(16))  # success (a real login would pass) or failure
    reason: Mapped[str] = mapped_column(String(64), default="")
    email: Mapped[str] = mapped_column(String(320), default="")  # the NameID the IdP sent
    details: Mapped[dict] = mapped_column(JSON, default=dict)  # the sso.test event's details
