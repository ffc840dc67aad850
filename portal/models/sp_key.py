"""The account's own SP key pair (signed AuthnRequests, encrypted assertions); the private key encrypted at rest."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.base import utcnow

SP_KEY_CURRENT = "current"  # signs AuthnRequests, decrypts assertions
SP_KEY_NEXT = "next"  # published next to the current one in SP metadata during rotation


class SpKey(db.Model):
    """One SP key pair of an account: at most one current and one next (during rotation)."""
    __tablename__ = "sp_key"
    __table_args__ = (UniqueConstraint("account_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(8))  # SP_KEY_CURRENT or SP_KEY_NEXT
    cert_pem: Mapped[str] = mapped_column(Text)
    # A Fernet token (portal/sso/sp_keys.py): never the PEM in clear.
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    sha256_fingerprint: Mapped[str] = mapped_column(String(95))
    not_before: Mapped[datetime]
    not_after: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
