"""SCIM bearer tokens: one account each, stored only as a SHA-256."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.base import utcnow


class ScimToken(db.Model):
    """A provisioning token of one account (Okta's "API Token", Entra ID's "Secret Token").

    The token itself is shown once when created; only its SHA-256 is kept, so a copy of the database
    provisions nothing. Revoking keeps the row (revoked_at) so the audit trail keeps its name.
    """
    __tablename__ = "scim_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    @property
    def actor(self) -> ScimActor:
        """The audit actor of this token's writes: its name (no user id: SCIM has no signed-in user)."""
        return ScimActor(id=None, email=self.name)


@dataclass(frozen=True)
class ScimActor:
    """What audit.record reads of an actor (id, email) for a SCIM write."""
    id: int | None
    email: str
