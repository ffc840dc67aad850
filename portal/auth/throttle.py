"""Password-login throttling per email and per client IP, counted atomically before the password is checked.

Counting first (portal.ratelimits) means concurrent guesses cannot all slip in under the limit. A successful
login gives its count back, so only failures accumulate.
"""
from __future__ import annotations

from flask import current_app, g

from portal import ratelimits


def hit(email: str, ip: str) -> int | None:
    """Count this attempt; the seconds to wait when a limit is already used up (then nothing is checked)."""
    g.login_hits = []
    for setting, key in (("LOGIN_LIMIT_PER_EMAIL", f"email:{email}"), ("LOGIN_LIMIT_PER_IP", f"ip:{ip}")):
        wait, counted = ratelimits.hit(current_app.config[setting], "password-login", key)
        g.login_hits += counted
        if wait is not None:
            return wait
    return None


def give_back() -> None:
    """A successful login does not count towards the limits."""
    ratelimits.give_back(g.pop("login_hits", []))
