"""The rate-limit helper: counting, and one sweeper thread instead of a new Timer thread per count (memory://)."""
from __future__ import annotations

import threading
import time

from limits.storage import MemoryStorage

from portal import ratelimits
from portal.extensions import limiter


def test_counting_starts_no_thread_per_request(app, monkeypatch):
    started = []

    class CountedTimer(threading.Timer):
        def start(self):
            started.append(self)
            super().start()

    monkeypatch.setattr(threading, "Timer", CountedTimer)  # what limits' MemoryStorage starts per count
    assert isinstance(limiter.limiter.storage, MemoryStorage)
    with app.test_request_context("/"):
        for _ in range(5):
            assert ratelimits.hit("100 per minute", "test", "threads")[0] is None
            time.sleep(0.02)  # the library's 10 ms timer has ended: without the sweeper it starts another
        assert ratelimits.hit("5 per minute", "test", "full")[0] is None
    assert started == []
    assert isinstance(limiter.limiter.storage.timer, ratelimits._Sweeper) and limiter.limiter.storage.timer.is_alive()


def test_the_sweeper_still_drops_expired_moving_window_entries(monkeypatch):
    monkeypatch.setattr(ratelimits, "SWEEP_SECONDS", 0.02)
    storage = MemoryStorage()
    ratelimits._keep_sweeper(storage)
    assert storage.acquire_entry("k", limit=5, expiry=0.05)
    assert storage.events["k"]
    deadline = time.monotonic() + 2
    while storage.events.get("k") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not storage.events.get("k")


def test_fixed_window_counts_still_refuse_past_the_limit(app):
    with app.test_request_context("/"):
        assert ratelimits.hit("2 per minute", "test", "limit")[0] is None
        assert ratelimits.hit("2 per minute", "test", "limit")[0] is None
        wait, counted = ratelimits.hit("2 per minute", "test", "limit")
        assert wait is not None and 1 <= wait <= 61 and counted == []


def test_flask_limiter_runs_for_pages_but_not_at_all_for_scim(app, monkeypatch):
    from flask_limiter import Limiter

    identified: list[str] = []
    original = Limiter.identify_request  # the first thing its before_request hook does
    monkeypatch.setattr(Limiter, "identify_request", lambda self: identified.append("x") or original(self))
    client = app.test_client()
    assert [client.get("/login").status_code for _ in range(3)] == [200, 200, 200]
    assert len(identified) == 3
    identified.clear()
    answers = [client.get("/scim/v2/acme/Users") for _ in range(3)]
    assert [a.status_code for a in answers] == [401] * 3 and identified == []  # its hooks never ran
    assert all("X-RateLimit-Limit" not in a.headers for a in answers)
