"""A real HTTPS server on loopback with its own test CA, serving documents the tests change (IdP metadata URL)."""
from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devtools.saml_idp import KeyPair, TestIdp

SERVER_NAMES = ("localhost", "idp.test")


@dataclass(frozen=True)
class TestCa:
    """A CA file to trust, and the server's certificate chain and key files it issued."""
    __test__ = False
    ca_path: str
    cert_path: str
    key_path: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(directory: Path, label: str = "test") -> TestCa:
    """A CA and a server certificate for localhost, idp.test and 127.0.0.1, written as PEM files."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name(f"Portal {label} CA")).issuer_name(_name(f"Portal {label} CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(n) for n in SERVER_NAMES] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    paths = TestCa(str(directory / f"{label}-ca.pem"), str(directory / f"{label}-server.pem"),
                   str(directory / f"{label}-server.key"))
    Path(paths.ca_path).write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    Path(paths.cert_path).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    Path(paths.key_path).write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return paths


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (timeouts)
    chunked_size: int = 0  # send this many bytes without Content-Length (size cap while streaming)


class MetadataServer:
    """HTTPS on 127.0.0.1 with a test CA; routes[path] says what each path answers, requests lists the paths."""

    def __init__(self, ca: TestCa):
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str]] = []  # (path, Host header)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                server.requests.append((self.path, self.headers.get("Host", "")))
                route = server.routes.get(self.path, Route(status=404, body=b"not found"))
                if route.delay:
                    time.sleep(route.delay)
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.chunked_size:
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for _ in range(0, route.chunked_size, 65536):
                        self.wfile.write(b"<" * 65536)
                    return
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)

            def log_message(self, *args):
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(ca.cert_path, ca.key_path)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, client_address: None  # refused handshakes are the point
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/metadata", host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}{path}"

    def serve(self, path: str, body: str | bytes, status: int = 200, **options) -> str:
        self.routes[path] = Route(status=status, body=body.encode() if isinstance(body, str) else body,
                                  headers={"Content-Type": "application/samlmetadata+xml"}, **options)
        return self.url(path)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def idp_metadata(idp: TestIdp, keys: list[KeyPair], sso_url: str | None = None, issuer: str | None = None) -> str:
    """The test IdP's metadata with one signing KeyDescriptor per key (a rollover lists two)."""
    descriptors = "".join(
        '<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>'
        f"<ds:X509Certificate>{key.cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        for key in keys)
    return (f'<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor entityID="{issuer or idp.issuer}" '
            'xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><md:IDPSSODescriptor '
            'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">' + descriptors +
            '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
            f'Location="{sso_url or idp.sso_url}"/></md:IDPSSODescriptor></md:EntityDescriptor>')
