"""Shared column helpers."""
from datetime import datetime, timezone


def utcnow() -> datetime:
    """Current UTC time as a naive datetime (how every timestamp is stored)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with Z of a stored (naive UTC) time; None when there is none."""
    return value.isoformat(timespec="seconds") + "Z" if value else None
