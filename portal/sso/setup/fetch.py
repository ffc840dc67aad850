"""Fetch an IdP metadata URL on a tenant's behalf without letting it reach the portal's own network (SSRF).

Each hop resolves the host once, refuses private, loopback (outside the local try-out), link-local, multicast,
reserved and unspecified addresses, then connects to exactly the address it checked (TLS SNI and Host keep the
name), so a second DNS answer cannot swap in an internal address. Redirects are followed by hand, each one
checked again; the body is read in chunks up to a cap, under one deadline.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from portal.audit.events import Reason
from portal.config import is_loopback_host
from portal.errors import ServiceError

MAX_REDIRECTS = 3
_CHUNK = 64 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)


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
    timeout: float = 10.0
    max_bytes: int = 1024 * 1024


def resolve(host: str, port: int) -> list[str]:
    """Every address host resolves to (tests replace this function, never the network)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def connect(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to the already-checked address (the one place this module opens a socket)."""
    return socket.create_connection((address, port), timeout=timeout)


def check_url(url: str, allow_loopback: bool) -> tuple[str, str, int]:
    """(scheme, host, port) of url, or FetchError: https only, http only on loopback in the try-out."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        raise FetchError(Reason.METADATA_URL_REFUSED, f"'{url}' is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(Reason.METADATA_URL_REFUSED, "Enter the full Metadata URL, starting with https://.")
    if parts.username is not None or parts.password is not None:
        raise FetchError(Reason.METADATA_URL_REFUSED, "The Metadata URL must not contain a user name or password.")
    if parts.scheme == "http" and not (allow_loopback and is_loopback_host(parts.hostname)):
        raise FetchError(Reason.METADATA_URL_REFUSED, "The Metadata URL must use https:// (http:// only for "
                                                      "localhost in the local try-out).")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def address_problem(address: str, allow_loopback: bool) -> str | None:
    """Why the portal must not connect to address (None when it is a public unicast address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 reaches 10.0.0.1
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    for flag, what in (("is_unspecified", "an unspecified address"), ("is_link_local", "a link-local address"),
                       ("is_multicast", "a multicast address"), ("is_reserved", "a reserved address"),
                       ("is_private", "a private address")):
        if getattr(ip, flag):
            return what
    return None if ip.is_global else "a non-public address"  # e.g. 100.64.0.0/10 (carrier-grade NAT)


def fetch(url: str, policy: FetchPolicy) -> bytes:
    """The body of url (status 200), following up to MAX_REDIRECTS redirects, each hop checked before connecting."""
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


def _get(url: str, policy: FetchPolicy, deadline: float) -> tuple[int, str | None, bytes]:
    scheme, host, port = check_url(url, policy.allow_loopback)
    address = _checked_address(host, port, policy.allow_loopback)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
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
    except FetchError:
        raise
    except ssl.SSLError as exc:
        raise FetchError(Reason.METADATA_TLS_FAILED, f"The TLS connection to {host} failed: "
                                                     f"{exc.reason or exc}. The server's certificate must be "
                                                     "valid for that name.") from None
    except (TimeoutError, socket.timeout):
        raise FetchError(Reason.METADATA_TIMEOUT, f"{host} did not answer within {policy.timeout:g} seconds.") \
            from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(Reason.METADATA_FETCH_FAILED, f"Cannot fetch the Metadata URL from {host}: "
                                                       f"{type(exc).__name__}.") from None
    finally:
        conn.close()


def _checked_address(host: str, port: int, allow_loopback: bool) -> str:
    literal = host.strip("[]")
    try:
        addresses = [str(ipaddress.ip_address(literal))]
    except ValueError:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError):
            raise FetchError(Reason.METADATA_FETCH_FAILED, f"The host name {host} does not resolve.") from None
    if not addresses:
        raise FetchError(Reason.METADATA_FETCH_FAILED, f"The host name {host} does not resolve.")
    for address in addresses:
        # Every answer must be acceptable: a name that also points inside is refused, not raced.
        problem = address_problem(address, allow_loopback)
        if problem:
            raise FetchError(Reason.METADATA_ADDRESS_REFUSED, f"The Metadata URL's host {host} resolves to "
                                                              f"{problem} ({address}); the portal only fetches "
                                                              "metadata from public addresses.")
    return addresses[0]


def _connection(scheme, host, port, address, policy: FetchPolicy, deadline: float):
    remaining = max(deadline - time.monotonic(), 0.01)
    if scheme == "http":
        return _PinnedHTTPConnection(host, port, address, timeout=remaining)
    context = ssl.create_default_context(cafile=policy.ca_bundle)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return _PinnedHTTPSConnection(host, port, address, timeout=remaining, context=context)


def _read(response, limit: int, deadline: float) -> bytes:
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise FetchError(Reason.METADATA_TOO_LARGE, f"The metadata is larger than {limit // 1024} KB.")
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline:
            raise FetchError(Reason.METADATA_TIMEOUT, "The metadata download took too long.")
        chunk = response.read1(_CHUNK) if hasattr(response, "read1") else response.read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise FetchError(Reason.METADATA_TOO_LARGE, f"The metadata is larger than {limit // 1024} KB.")
        chunks.append(chunk)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to a checked address, with the URL's name in Host."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = connect(self._address, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address; SNI, certificate check and Host use the URL's name."""

    def __init__(self, host, port, address, timeout, context):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address

    def connect(self):
        sock = connect(self._address, self.port, self.timeout)
        try:
            self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()  # a refused handshake must not leak the connection
            raise
