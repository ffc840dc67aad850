"""Users, teams, roles and the links between them."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from portal.extensions import db
from portal.models.account import Account
from portal.models.base import utcnow

CREATED_VIA = ("password", "sso", "cli", "scim")
SOURCES = ("manual", "sso", "scim")

team_roles = Table(
    "team_role", db.metadata,
    Column("team_id", ForeignKey("team.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("role.id", ondelete="CASCADE"), primary_key=True),
)
user_roles = Table(
    "user_role", db.metadata,
    Column("user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("role.id", ondelete="CASCADE"), primary_key=True),
)


def new_scim_id() -> str:
    """An opaque, stable SCIM id (never the email, which may change)."""
    return uuid.uuid4().hex


def normalise_email(value: str | None) -> str:
    """Emails are stored and compared trimmed and lower-cased."""
    return (value or "").strip().lower()


class UserRef(Protocol):
    """A user as identity code reads it: the ORM User, or a plain row where a hot path reads no ORM object."""
    id: int
    account_id: int
    email: str
    active: bool


class Role(db.Model):
    __tablename__ = "role"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(String(300), default="")
    permissions: Mapped[list] = mapped_column(JSON, default=list)

    @classmethod
    def by_name(cls, name: str) -> Role | None:
        """The predefined role with this name (case-insensitive), if any."""
        return db.session.scalar(select(cls).where(func.lower(cls.name) == (name or "").strip().lower()))


class User(UserMixin, db.Model):
    # "user" is a reserved word in PostgreSQL.
    __tablename__ = "user_account"
    __table_args__ = (
        # SCIM: Okta and Entra ID look people up by externalId; /Users pages walk (account_id, id).
        Index("ix_user_account_account_external_id", "account_id", "external_id"),
        Index("ix_user_account_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    # Unique across the whole portal: one email never lives in two accounts.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    # Break-glass: an Account admin who may still use their password while the account requires SSO.
    break_glass: Mapped[bool] = mapped_column(default=False)
    created_via: Mapped[str] = mapped_column(String(16), default="password")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    last_sso_login_at: Mapped[datetime | None]
    # SCIM (RFC 7643): opaque stable id, the IdP's externalId, name parts, meta.lastModified.
    scim_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_scim_id)
    external_id: Mapped[str | None] = mapped_column(String(255))
    given_name: Mapped[str] = mapped_column(String(200), default="")
    family_name: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    account: Mapped[Account] = relationship(lazy="joined")
    roles: Mapped[list[Role]] = relationship(secondary=user_roles, order_by=Role.id)
    memberships: Mapped[list[TeamMembership]] = relationship(
        back_populates="user", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def set_password(self, password: str) -> None:
        # The method is configurable only so the test suite can use a cheap hash.
        self.password_hash = generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @classmethod
    def by_email(cls, email: str) -> User | None:
        """The user with this email in any account (case-insensitive)."""
        return db.session.scalar(select(cls).where(cls.email == normalise_email(email)))

    @property
    def teams(self) -> list[Team]:
        seen: dict[int, Team] = {}
        for membership in self.memberships:
            seen.setdefault(membership.team_id, membership.team)
        return sorted(seen.values(), key=lambda t: t.name.lower())

    def effective_roles(self) -> list[Role]:
        """Roles granted directly and through every team, without duplicates."""
        roles = {r.id: r for r in self.roles}
        for team in self.teams:
            for role in team.roles:
                roles.setdefault(role.id, role)
        return sorted(roles.values(), key=lambda r: r.id)

    def permissions(self) -> set[str]:
        """Union of the permissions of every effective role."""
        return {p for role in self.effective_roles() for p in role.permissions}

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Team(db.Model):
    __tablename__ = "team"
    __table_args__ = (UniqueConstraint("account_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Team names compare case-insensitively inside an account; the first spelling is kept.
    name_key: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16), default="manual")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set while SCIM owns a link to this team (it created it, or a pushed group of that name linked it).
    scim_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    scim_external_id: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship()
    roles: Mapped[list[Role]] = relationship(secondary=team_roles, order_by=Role.id)
    memberships: Mapped[list[TeamMembership]] = relationship(
        back_populates="team", cascade="all, delete-orphan")

    @staticmethod
    def key(name: str) -> str:
        """The comparison key of a team name: whitespace folded, case-insensitive."""
        return " ".join((name or "").split()).lower()

    @validates("name")
    def _set_key(self, _attr, name: str) -> str:
        name = " ".join((name or "").split())
        self.name_key = self.key(name)
        return name


class TeamMembership(db.Model):
    """A user in a team; a user may be in one team both by hand and through SSO."""
    __tablename__ = "team_membership"

    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    # The IdP group that caused an SSO membership (its spelling as asserted).
    group_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    team: Mapped[Team] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(back_populates="memberships")
