"""The ACS's per-client-IP throttle (PORTAL_ACS_LIMIT_PER_IP, default 60 posts per minute).

The ACS takes posts from anyone, without a login, and every refused post writes an audit event to the
account it names: without a cap one client could flood any account's audit log and bury its real
failures. Counted first, in the limiter's storage (memory or Redis), before the body is read.
"""
from __future__ import annotations

from flask import current_app

from portal import ratelimits


def acs_wait(ip: str) -> int | None:
    """Count this ACS post for ip; the seconds to wait when its limit is used up (None: go ahead)."""
    return ratelimits.hit(current_app.config["ACS_LIMIT_PER_IP"], "acs", ip)[0]
