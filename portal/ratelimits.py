"""Counting against rate limits in the limiter's storage (memory or Redis): the one helper every throttle uses.

Password login, the ACS and SCIM count a hit first, atomically, and refuse when a limit is used up, instead of
Flask-Limiter's decorators (which count after the view has run). Limit strings are parsed once per process.
"""
from __future__ import annotations

import threading
import time
from functools import lru_cache, partial, wraps

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage

from portal.extensions import limiter

Counted = list[tuple[RateLimitItem, tuple[str, ...]]]
SWEEP_SECONDS = 1.0
_sweeper_lock = threading.Lock()


class _Sweeper(threading.Thread):
    """One long-lived thread dropping expired moving-window entries of a memory:// storage every SWEEP_SECONDS.

    limits' MemoryStorage starts a new 10 ms Timer thread on every count once the last one has ended, which is
    on nearly every request (about 0.4 ms of the request's CPU). While this thread is alive, its is_alive()
    tells the storage a timer is running. Fixed-window counters expire when read, so they never needed it.
    """

    def __init__(self, storage: MemoryStorage):
        super().__init__(name="ratelimit-sweeper", daemon=True)
        self.storage = storage

    def run(self) -> None:
        while True:
            time.sleep(SWEEP_SECONDS)
            self.storage._MemoryStorage__expire_events()  # the library's own sweep, name-mangled


def _keep_sweeper(storage) -> None:
    """Give a memory:// storage the one sweeper thread of this process (again after a fork)."""
    if not isinstance(storage, MemoryStorage) or (isinstance(storage.timer, _Sweeper) and storage.timer.is_alive()):
        return
    with _sweeper_lock:
        if not (isinstance(storage.timer, _Sweeper) and storage.timer.is_alive()):
            sweeper = _Sweeper(storage)
            sweeper.start()
            storage.timer = sweeper


@lru_cache(maxsize=64)
def _items(limits: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(limits))


def skip_flask_limiter(app: Flask, blueprints: frozenset[str]) -> None:
    """Run none of Flask-Limiter's per-request hooks for blueprints that throttle themselves (SCIM).

    Their request filters already exempt them from its limits, but only after its hooks have done most of
    their work (about 0.2 ms a request); skipped here before any of it. Other requests run them unchanged.
    """
    def unless(hook):
        @wraps(hook)
        def checked(*args):
            if request.blueprint in blueprints:
                return args[0] if args else None  # an after_request hook hands the response on
            return hook(*args)
        return checked

    def ours(hook) -> bool:
        bound = hook.args[0] if isinstance(hook, partial) and hook.args else getattr(hook, "__self__", None)
        return bound is limiter

    for hooks in (app.before_request_funcs, app.after_request_funcs):
        hooks[None] = [unless(h) if ours(h) else h for h in hooks.get(None, [])]


def hit(limits: str, *key: str) -> tuple[int | None, Counted]:
    """Count one hit of key under each of limits ("5 per minute;20 per hour").

    Returns the seconds to wait when one limit is used up (the later ones are then not counted), else None,
    and the hits counted, for give_back().
    """
    strategy = limiter.limiter
    _keep_sweeper(strategy.storage)
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
