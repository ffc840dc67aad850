"""Server-Timing on SCIM answers: the server's own time for each request, apart from the network's.

`app` is wall time in the worker; `cpu` is the worker thread's CPU time (on a busy machine, wall time also counts
waiting for a core and for the database's turn, so cpu shows what the portal's own code costs).
"""
from __future__ import annotations

from time import perf_counter, thread_time

PREFIX = "/scim/v2/"


class ServerTiming:
    """WSGI middleware adding `Server-Timing: app;dur=<ms>, cpu;dur=<ms>` under /scim/v2/ (the bench reads it)."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").startswith(PREFIX):
            return self.wsgi_app(environ, start_response)
        start, cpu = perf_counter(), thread_time()

        def timed(status, headers, exc_info=None):
            # Flask calls this once the answer is built: the figure covers routing, auth, SQL and JSON.
            headers.append(("Server-Timing", f"app;dur={(perf_counter() - start) * 1000:.2f}, "
                                             f"cpu;dur={(thread_time() - cpu) * 1000:.2f}"))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, timed)
