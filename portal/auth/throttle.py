"""Password-login throttling per email and per client IP, counted atomically before the password is checked.

Counting first (one atomic increment per limit, in the limiter's storage: memory or Redis) means concurrent
guesses cannot all slip in under the limit. A successful login gives its count back, so only failures
accumulate. The fixed-window strategy (Flask-Limiter's default) is what makes the give-back possible.
"""
from __future__ import annotations

import time

from flask import current_app, g
from limits import parse_many

from portal.extensions import limiter


def hit(email: str, ip: str) -> int | None:
    """Count this attempt; the seconds to wait when a limit is already used up (then nothing is checked)."""
    strategy = limiter.limiter
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    counted = []
    for setting, key in (("LOGIN_LIMIT_PER_EMAIL", f"email:{email}"), ("LOGIN_LIMIT_PER_IP", f"ip:{ip}")):
        for item in parse_many(current_app.config[setting]):
            identifiers = (prefix, "password-login", key)
            if not strategy.hit(item, *identifiers):
                g.login_hits = counted
                reset = strategy.get_window_stats(item, *identifiers).reset_time
                return max(1, int(reset - time.time()) + 1)
            counted.append((item, identifiers))
    g.login_hits = counted
    return None


def give_back() -> None:
    """A successful login does not count towards the limits."""
    storage = limiter.limiter.storage
    for item, identifiers in g.pop("login_hits", []):
        storage.incr(item.key_for(*identifiers), item.get_expiry(), amount=-1)
