"""The pool's liveness ping (what pool_pre_ping does), skippable by a caller that retries a dead connection itself.

pool_pre_ping costs one database round trip per request. SCIM's hot path (one client sending thousands of small
requests) skips it and instead runs a request again, once, when its connection turns out dead before the commit
(see portal/scim/views.py); every other checkout is pinged exactly as pool_pre_ping would.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

_unpinged: ContextVar[bool] = ContextVar("unpinged_checkout", default=False)


def install(engine: Engine) -> None:
    """Ping each connection the pool hands out (replacing pool_pre_ping), except inside unpinged()."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, _record, _proxy):
        if _unpinged.get():
            return
        if not dialect._do_ping_w_event(dbapi_connection):
            # The pool discards this connection and checks out another (SQLAlchemy's pessimistic recipe).
            raise exc.DisconnectionError("the pooled database connection is dead")


@contextmanager
def unpinged() -> Iterator[None]:
    """Check connections out without the ping; the caller retries once on a DBAPIError with connection_invalidated."""
    reset = _unpinged.set(True)
    try:
        yield
    finally:
        _unpinged.reset(reset)
