"""Account: a tenant with a unique custom domain."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import utcnow

DOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$")
# Words that would read as portal pages or confuse users if taken as a custom domain.
RESERVED_DOMAINS = frozenset({
    "admin", "api", "app", "assets", "auth", "callback", "dashboard", "help", "login", "logout",
    "metadata", "portal", "root", "saml", "settings", "signup", "sso", "static", "status",
    "support", "system", "www",
})


def domain_problem(domain: str) -> str | None:
    """Why domain cannot be a custom domain, or None when it can."""
    if not domain:
        return "Enter a custom domain."
    if not 3 <= len(domain) <= 63:
        return "A custom domain is 3 to 63 characters long."
    if not re.fullmatch(r"[a-z0-9-]+", domain):
        return "Use only lowercase letters a-z, digits and hyphens (-)."
    if not DOMAIN_RE.match(domain):
        return "A custom domain cannot start or end with a hyphen."
    if domain in RESERVED_DOMAINS:
        return f"'{domain}' is reserved; choose another custom domain."
    return None


def normalise_domain(value: str | None) -> str:
    """Lower-case and trim what a person typed as a custom domain."""
    return (value or "").strip().lower()


class Account(db.Model):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str] = mapped_column(String(63), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Granted to people created by SCIM or by SSO auto-create; none by default.
    default_role_id: Mapped[int | None] = mapped_column(ForeignKey("role.id", ondelete="SET NULL"))

    sso_config: Mapped["SsoConfig"] = relationship(back_populates="account", uselist=False)  # noqa: F821

    @classmethod
    def by_domain(cls, domain: str) -> Account | None:
        """The account with this custom domain (case-insensitive), if any."""
        return db.session.scalar(select(cls).where(cls.domain == normalise_domain(domain)))

    @classmethod
    def domain_taken(cls, domain: str, except_id: int | None = None) -> bool:
        """Whether another account already uses this custom domain."""
        query = select(func.count()).select_from(cls).where(cls.domain == normalise_domain(domain))
        if except_id is not None:
            query = query.where(cls.id != except_id)
        return db.session.scalar(query) > 0

    def __repr__(self) -> str:
        return f"<Account {self.domain}>"


class ReleasedDomain(db.Model):
    """A custom domain an account gave up, held for PORTAL_DOMAIN_QUARANTINE_DAYS.

    During the hold only the releasing account may take it back: bookmarks, Okta tiles and SP values
    that still point at the old domain must not lead to another account's IdP at once.
    """
    __tablename__ = "released_domain"

    domain: Mapped[str] = mapped_column(String(63), primary_key=True)
    # NULL once the releasing account is deleted: then nobody may take the domain before held_until.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"), index=True)
    released_at: Mapped[datetime] = mapped_column(default=utcnow)
    held_until: Mapped[datetime]
