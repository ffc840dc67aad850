"""A real DNS server on loopback (dnslib, UDP and TCP) whose TXT records a test sets; and a silent one."""
from __future__ import annotations

import socket
import threading
from contextlib import contextmanager

from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class Zone(BaseResolver):
    """Answers TXT queries from records: a name listed (even with no records) exists, any other is NXDOMAIN."""

    def __init__(self):
        self.records: dict[str, list[str]] = {}
        self.queries: list[str] = []

    def set_txt(self, name: str, *values: str) -> None:
        """Publish exactly these TXT values on name (none: the name exists without TXT records)."""
        self.records[name.lower().rstrip(".")] = list(values)

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).lower().rstrip(".")
        self.queries.append(name)
        if name not in self.records:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        if request.q.qtype == QTYPE.TXT:
            for value in self.records[name]:
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(value), ttl=60))
        return reply


@contextmanager
def dns_server():
    """Start a DNS server on 127.0.0.1 (UDP and TCP, one random port); yields (zone, "127.0.0.1:port")."""
    zone = Zone()
    logger = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
    for _ in range(20):  # the TCP side needs the UDP side's port, which another process may hold on TCP
        udp = DNSServer(zone, address="127.0.0.1", port=0, logger=logger)
        port = udp.server.server_address[1]
        try:
            tcp = DNSServer(zone, address="127.0.0.1", port=port, tcp=True, logger=logger)
            break
        except OSError:
            udp.server.server_close()
    else:
        raise RuntimeError("no loopback port free for both UDP and TCP")
    for server in (udp, tcp):
        server.start_thread()
    try:
        yield zone, f"127.0.0.1:{port}"
    finally:
        for server in (udp, tcp):
            server.stop()
            server.server.server_close()


@contextmanager
def silent_resolver():
    """A UDP socket on loopback that reads queries and never answers: a resolver that times out."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    stop = threading.Event()

    def swallow():
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                sock.recvfrom(4096)
            except OSError:
                continue

    thread = threading.Thread(target=swallow, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        sock.close()
