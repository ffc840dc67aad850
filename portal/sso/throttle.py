"""The ACS's per-client-IP throttle (PORTAL_ACS_LIMIT_PER_IP, default 60 posts per minute).

The ACS takes posts from anyone, without a login, and every refused post writes an audit event to the
account it names: without a cap one client could flood any account's audit log and bury its real
failures. Counted first, in the limiter's storage (memory or Redis), before the body is read.
"""
from __future__ import annotations

import time

from flask import current_app
from limits import parse_many

from portal.extensions import limiter


def acs_wait(ip: str) -> int | None:
    """Count this ACS post for ip; the seconds to wait when its limit is used up (None: go ahead)."""
    strategy = limiter.limiter
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    for item in parse_many(current_app.config["ACS_LIMIT_PER_IP"]):
        identifiers = (prefix, "acs", ip)
        if not strategy.hit(item, *identifiers):
            reset = strategy.get_window_stats(item, *identifiers).reset_time
            return max(1, int(reset - time.time()) + 1)
    return None
