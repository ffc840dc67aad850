"""Shared column helpers."""
from datetime import datetime, timezone


def utcnow() -> datetime:
    """Current UTC time as a naive datetime (how every timestamp is stored)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
