"""Counting against rate limits in the limiter's storage (memory or Redis): the one helper every throttle uses.

Password login, the ACS and SCIM count a hit first, atomically, and refuse when a limit is used up, instead of
Flask-Limiter's decorators (which count after the view has run). Limit strings are parsed once per process.
"""
from __future__ import annotations

import time
from functools import lru_cache

from flask import current_app
from limits import RateLimitItem, parse_many

from portal.extensions import limiter

Counted = list[tuple[RateLimitItem, tuple[str, ...]]]


@lru_cache(maxsize=64)
def _items(limits: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(limits))


def hit(limits: str, *key: str) -> tuple[int | None, Counted]:
    """Count one hit of key under each of limits ("5 per minute;20 per hour").

    Returns the seconds to wait when one limit is used up (the later ones are then not counted), else None,
    and the hits counted, for give_back().
    """
    strategy = limiter.limiter
    counted: Counted = []
    for item in _items(limits):
        identifiers = (current_app.config.get("RATELIMIT_KEY_PREFIX", ""), *key)
        if not strategy.hit(item, *identifiers):
            reset = strategy.get_window_stats(item, *identifiers).reset_time
            return max(1, int(reset - time.time()) + 1), counted
        counted.append((item, identifiers))
    return None, counted


def give_back(counted: Counted) -> None:
    """Undo hits (fixed-window counters, Flask-Limiter's default strategy)."""
    storage = limiter.limiter.storage
    for item, identifiers in counted:
        storage.incr(item.key_for(*identifiers), item.get_expiry(), amount=-1)
