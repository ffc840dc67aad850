"""Fetch an IdP metadata URL on a tenant's behalf without letting it reach the portal's own network (SSRF).

Each hop reads the host the way a resolver would (an IPv4 address spelled 127.1, 0x7f.1 or 2130706433 is that
address), resolves a name once, refuses private, loopback (outside the local try-out), link-local, multicast,
reserved and unspecified addresses (an IPv4 address inside an IPv4-mapped, NAT64 or 6to4 IPv6 address is judged
as itself), then connects to exactly the address it checked (TLS SNI and Host keep the name), so a second DNS
answer cannot swap in an internal address. Redirects are followed by hand, each one checked again.

The timeout is one wall-clock deadline over the whole fetch: name lookup, connection, TLS handshake, status line,
headers and body of every hop. Every socket call gets the time left as its timeout and none starts once it is
over, so a server sending one byte at a time cannot stretch the fetch.
"""
from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from portal.audit.events import Reason
from portal.config import is_loopback_host
from portal.errors import ServiceError
from portal.sso.setup.deadline import DeadlineSocket, remaining

MAX_REDIRECTS = 3
_CHUNK = 64 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix: the last 32 bits are the IPv4 address
_TEREDO = ipaddress.ip_network("2001::/32")
_IPV4_PART = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")


class FetchError(ServiceError):
    """The metadata URL could not be fetched; reason is the machine code, the message says why."""

    def __init__(self, reason: Reason, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of one fetch; allow_loopback only in the local try-out (a base URL on loopback)."""
    allow_loopback: bool = False
    ca_bundle: str | None = None  # None: the system's trust store
    timeout: float = 10.0  # seconds, for the whole fetch (every hop, from name lookup to the body's last byte)
    max_bytes: int = 1024 * 1024


def resolve(host: str, port: int) -> list[str]:
    """Every address host resolves to (tests replace this function, never the network)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def connect(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to the already-checked address (the one place this module opens a socket)."""
    return socket.create_connection((address, port), timeout=timeout)


def check_url(url: str, allow_loopback: bool) -> tuple[str, str, int]:
    """(scheme, host, port) of url, or FetchError: https only, http only on loopback in the try-out.

    host is the form the fetch uses (resolves, connects to, names in SNI and Host): an IP address in its
    canonical form (whatever the URL's spelling), a name in lower-case ASCII (IDNA)."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        raise FetchError(Reason.METADATA_URL_REFUSED, f"'{url}' is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(Reason.METADATA_URL_REFUSED, "Enter the full Metadata URL, starting with https://.")
    if parts.username is not None or parts.password is not None:
        raise FetchError(Reason.METADATA_URL_REFUSED, "The Metadata URL must not contain a user name or password.")
    host = _host(parts.hostname)
    if parts.scheme == "http" and not (allow_loopback and is_loopback_host(host)):
        raise FetchError(Reason.METADATA_URL_REFUSED, "The Metadata URL must use https:// (http:// only for "
                                                      "localhost in the local try-out).")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def _host(name: str) -> str:
    """The host the fetch uses for the URL's host name (see check_url); FetchError when it is not a valid host."""
    if ":" in name:  # urlsplit took it from brackets: an IPv6 address
        if "%" in name:
            raise FetchError(Reason.METADATA_URL_REFUSED, f"The Metadata URL's host [{name}] names a network "
                                                          "interface (an IPv6 zone id); give a public address.")
        try:
            return str(ipaddress.IPv6Address(name))
        except ValueError:
            raise FetchError(Reason.METADATA_URL_REFUSED, f"[{name}] is not a valid IPv6 address.") from None
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
        number = _ipv4_number(ascii_name)
    except (UnicodeError, ValueError):
        raise FetchError(Reason.METADATA_URL_REFUSED, f"'{name}' is not a valid host name.") from None
    return str(number) if number is not None else ascii_name


def _ipv4_number(name: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a name ending in a number stands for, as resolvers read it (inet_aton, the URL standard):
    127.1, 0x7f.1, 0177.0.0.1 and 2130706433 are all 127.0.0.1. None for a DNS name; ValueError when invalid."""
    labels = name.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()  # a trailing dot
    if not _IPV4_PART.fullmatch(labels[-1]):
        return None
    if len(labels) > 4 or not all(_IPV4_PART.fullmatch(label) for label in labels):
        raise ValueError(name)
    numbers = [int(label[2:] or "0", 16) if label[:2].lower() == "0x"
               else int(label, 8) if len(label) > 1 and label[0] == "0" else int(label) for label in labels]
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise ValueError(name)
    return ipaddress.IPv4Address(sum(n << 8 * (3 - i) for i, n in enumerate(head)) + last)


def address_problem(address: str, allow_loopback: bool) -> str | None:
    """Why the portal must not connect to address (None when it is a public unicast address).

    An IPv4 address carried inside an IPv6 one is judged as itself: IPv4-mapped (::ffff:10.0.0.1 is 10.0.0.1),
    NAT64 (64:ff9b::a00:1 reaches 10.0.0.1 through the gateway) and 6to4 (2002:a00:1:: tunnels to 10.0.0.1);
    behind NAT64 and 6to4 loopback is never the portal's own, so it is refused even in the try-out. Tunnels
    (6to4, Teredo) are refused whatever they carry."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        inner, kind = None, ""
        if ip.ipv4_mapped is not None:
            problem = address_problem(str(ip.ipv4_mapped), allow_loopback)  # the kernel connects to it over IPv4
            return problem and f"{problem} ({ip.ipv4_mapped}) inside an IPv4-mapped address"
        if ip in _NAT64:
            inner, kind = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "NAT64"
        elif ip.sixtofour is not None:
            inner, kind = ip.sixtofour, "6to4"
        elif ip in _TEREDO:
            return "a Teredo tunnel address"
        if inner is not None:
            problem = address_problem(str(inner), allow_loopback=False)
            if problem:
                return f"{problem} ({inner}) inside a {kind} address"
            if kind == "6to4":  # deprecated (RFC 7526); refused whatever this Python's ipaddress thinks of 2002::/16
                return "a 6to4 tunnel address"
            return None  # a public IPv4 address through the NAT64 gateway (an IPv6-only network's DNS64)
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    for flag, what in (("is_unspecified", "an unspecified address"), ("is_link_local", "a link-local address"),
                       ("is_multicast", "a multicast address"), ("is_reserved", "a reserved address"),
                       ("is_private", "a private address")):
        if getattr(ip, flag):
            return what
    if getattr(ip, "scope_id", None):
        return "an IPv6 address with a zone id"
    return None if ip.is_global else "a non-public address"  # e.g. 100.64.0.0/10 (carrier-grade NAT)


def fetch(url: str, policy: FetchPolicy) -> bytes:
    """The body of url (status 200), following up to MAX_REDIRECTS redirects, each hop checked before connecting,
    all of it within policy.timeout seconds."""
    deadline = time.monotonic() + policy.timeout
    for _ in range(MAX_REDIRECTS + 1):
        status, location, body = _get(url, policy, deadline)
        if status not in _REDIRECTS:
            if status != 200:
                raise FetchError(Reason.METADATA_HTTP_STATUS, f"The Metadata URL answered HTTP {status}, not 200. "
                                                              "Copy the Metadata URL from the IdP again.")
            return body
        if not location:
            raise FetchError(Reason.METADATA_HTTP_STATUS, f"The Metadata URL answered HTTP {status} without Location.")
        url = urljoin(url, location)
    raise FetchError(Reason.METADATA_HTTP_STATUS, f"The Metadata URL redirected more than {MAX_REDIRECTS} times.")


def _timed_out(policy: FetchPolicy, host: str) -> FetchError:
    return FetchError(Reason.METADATA_TIMEOUT, f"The Metadata URL did not answer within {policy.timeout:g} s "
                                               f"(from {host}, counting name lookup, connection and download); "
                                               "try again later.")


def _get(url: str, policy: FetchPolicy, deadline: float) -> tuple[int, str | None, bytes]:
    scheme, host, port = check_url(url, policy.allow_loopback)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        address = _checked_address(host, parts.hostname, port, policy.allow_loopback, deadline)
        conn = _connection(scheme, host, port, address, policy, deadline)
        try:
            conn.request("GET", path, headers={"Accept": "application/samlmetadata+xml, application/xml, text/xml",
                                               "Accept-Encoding": "identity", "User-Agent": "portal-metadata-refresh"})
            with conn.getresponse() as response:
                if response.status in _REDIRECTS:
                    return response.status, response.getheader("Location"), b""
                if response.status != 200:
                    return response.status, None, b""
                return 200, None, _read(response, policy.max_bytes, deadline)
        finally:
            conn.close()
    except FetchError:
        raise
    except ssl.SSLError as exc:
        raise FetchError(Reason.METADATA_TLS_FAILED, f"The TLS connection to {host} failed: "
                                                     f"{exc.reason or exc}. The server's certificate must be "
                                                     "valid for that name.") from None
    except (TimeoutError, socket.timeout):
        raise _timed_out(policy, host) from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(Reason.METADATA_FETCH_FAILED, f"Cannot fetch the Metadata URL from {host}: "
                                                       f"{type(exc).__name__}.") from None


def _checked_address(host: str, spelled: str, port: int, allow_loopback: bool, deadline: float) -> str:
    """The address to connect to: host itself when it is an IP address, else its first DNS answer; every answer
    is checked (FetchError naming the URL's own spelling of the host)."""
    try:
        addresses = [str(ipaddress.ip_address(host))]
        verb = "is"
    except ValueError:
        try:
            addresses = _resolve_by(host, port, deadline)
        except TimeoutError:
            raise  # the deadline, not a missing name
        except (OSError, UnicodeError):
            raise FetchError(Reason.METADATA_FETCH_FAILED, f"The host name {host} does not resolve.") from None
        verb = "resolves to"
    if not addresses:
        raise FetchError(Reason.METADATA_FETCH_FAILED, f"The host name {host} does not resolve.")
    for address in addresses:
        # Every answer must be acceptable: a name that also points inside is refused, not raced.
        problem = address_problem(address, allow_loopback)
        if problem:
            raise FetchError(Reason.METADATA_ADDRESS_REFUSED, f"The Metadata URL's host {spelled} {verb} "
                                                              f"{problem} ({address}); the portal only fetches "
                                                              "metadata from public addresses.")
    return addresses[0]


def _resolve_by(host: str, port: int, deadline: float) -> list[str]:
    """resolve(host, port), given up (TimeoutError) at the deadline: getaddrinfo has no timeout of its own, so it
    runs in a daemon thread left to finish on its own when the answer comes too late."""
    answer: dict = {}

    def lookup():
        try:
            answer["addresses"] = resolve(host, port)
        except BaseException as exc:  # noqa: BLE001 - handed to the fetch, which decides
            answer["error"] = exc
    worker = threading.Thread(target=lookup, name=f"metadata-dns-{host}", daemon=True)
    worker.start()
    worker.join(remaining(deadline))
    if worker.is_alive():
        raise TimeoutError(f"no DNS answer for {host}")
    if "error" in answer:
        raise answer["error"]
    return answer["addresses"]


def _connection(scheme, host, port, address, policy: FetchPolicy, deadline: float):
    if scheme == "http":
        return _PinnedHTTPConnection(host, port, address, deadline)
    context = ssl.create_default_context(cafile=policy.ca_bundle)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return _PinnedHTTPSConnection(host, port, address, deadline, context=context)


def _read(response, limit: int, deadline: float) -> bytes:
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise FetchError(Reason.METADATA_TOO_LARGE, f"The metadata is larger than {limit // 1024} KB.")
    chunks, size = [], 0
    while True:
        remaining(deadline)
        chunk = response.read1(_CHUNK) if hasattr(response, "read1") else response.read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise FetchError(Reason.METADATA_TOO_LARGE, f"The metadata is larger than {limit // 1024} KB.")
        chunks.append(chunk)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to a checked address, with the URL's name in Host, within the fetch's deadline."""

    def __init__(self, host, port, address, deadline):
        super().__init__(host, port, timeout=remaining(deadline))
        self._address, self._deadline = address, deadline

    def connect(self):
        self.sock = DeadlineSocket(connect(self._address, self.port, remaining(self._deadline)), self._deadline)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address; SNI, certificate check and Host use the URL's name; within the deadline."""

    def __init__(self, host, port, address, deadline, context):
        super().__init__(host, port, timeout=remaining(deadline), context=context)
        self._address, self._deadline = address, deadline

    def connect(self):
        sock = connect(self._address, self.port, remaining(self._deadline))
        try:
            sock.settimeout(remaining(self._deadline))  # the handshake as a whole gets the time left
            tls = self._context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()  # a refused handshake must not leak the connection
            raise
        self.sock = DeadlineSocket(tls, self._deadline)
