"""A slow server on 127.0.0.1 (plain HTTP or HTTPS with the test CA): it answers every request by dripping part of
its answer one byte every `gap` seconds, for up to `cap` seconds, then sends the rest at once (a server that keeps
a fetch alive without ever being silent long enough for a per-read socket timeout)."""
from __future__ import annotations

import socketserver
import ssl
import threading
import time
from dataclasses import dataclass

from tests.sso.setup.https_server import TestCa


@dataclass(frozen=True)
class Drip:
    """What to answer: `before` at once, then one byte of `dripped` per gap (repeated until cap), then `after`."""
    before: bytes
    dripped: bytes
    after: bytes


def headers_dripped(body: bytes = b"<md:EntityDescriptor/>") -> Drip:
    """The status line and one header line drip; a valid response follows after the cap."""
    return Drip(b"HTTP/1.1 200 OK\r\n", b"X-Drip: " + b"a" * 65000,
                b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)


def chunked_body_dripped() -> Drip:
    """Headers at once, then a chunked body whose first chunk-size line (with an extension) drips."""
    return Drip(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
                b"5;x=" + b"a" * 65000, b"\r\nhello\r\n0\r\n\r\n")


def body_dripped(size: int = 100_000) -> Drip:
    """Headers at once (with Content-Length), then the body one byte at a time."""
    return Drip(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % size, b"<" * size, b"")


class DripServer:
    """Serves one Drip to every request on 127.0.0.1; `requests` counts the requests it got."""

    def __init__(self, drip: Drip, gap: float = 0.2, cap: float = 8.0, ca: TestCa | None = None):
        self.requests = 0
        self.stopped = threading.Event()
        server = self
        context = None
        if ca is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(ca.cert_path, ca.key_path)

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                conn = self.request
                conn.settimeout(cap + 5)
                try:
                    if context is not None:
                        conn = context.wrap_socket(conn, server_side=True)
                    received = b""
                    while b"\r\n\r\n" not in received:
                        data = conn.recv(4096)
                        if not data:
                            return
                        received += data
                    server.requests += 1
                    conn.sendall(drip.before)
                    ends, sent = time.monotonic() + cap, 0
                    while sent < len(drip.dripped) and time.monotonic() < ends and not server.stopped.wait(gap):
                        conn.sendall(drip.dripped[sent:sent + 1])
                        sent += 1
                    if not drip.after:  # the dripped part is the whole answer (a body): send what is left
                        conn.sendall(drip.dripped[sent:])
                    conn.sendall(drip.after)
                except OSError:
                    pass  # the fetch gave up and closed the connection: that is the point
                finally:
                    conn.close()  # the TLS socket took over the connection's file descriptor

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.scheme = "https" if ca is not None else "http"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/metadata", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def close(self) -> None:
        self.stopped.set()
        self.httpd.shutdown()
        self.httpd.server_close()
