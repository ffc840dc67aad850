"""Plain helpers for the SSO tests: wire an account to the test IdP, drive logins through the client, read
the sso.login audit trail; certificates and IdP metadata files for the settings tests. Fixtures are in conftest.py."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from devtools.saml_idp import KeyPair, TestIdp, post_form
from portal.extensions import db
from portal.models import AuditEvent, IdpCertificate
from portal.sso import binding, saml
from portal.sso.setup.certs import parse_certificate
from portal.sso.setup.settings import certificate_row


def add_certificate(account, pem: str) -> IdpCertificate:
    """Store an active IdP Signature Certificate for account, parsed as the settings page does."""
    row = certificate_row(account, parse_certificate(pem))
    db.session.add(row)
    db.session.flush()
    return row


def configure_sso(account, idp: TestIdp, *, auto_create_users: bool = False, key: KeyPair | None = None) -> None:
    """Point account's SSO settings at idp and turn SSO on."""
    config = account.sso_config
    config.enabled = True
    config.idp_login_url = idp.sso_url
    config.idp_issuer = idp.issuer
    config.auto_create_users = auto_create_users
    add_certificate(account, (key or idp.keypair).cert_pem)
    db.session.commit()


class Flow:
    """Drives SP-initiated logins: portal → test IdP → ACS, through the test client."""

    def __init__(self, client, idp: TestIdp, account):
        self.client, self.idp, self.account = client, idp, account

    def metadata(self, account=None) -> str:
        return saml.sp_metadata(account or self.account)

    def start(self, next_target: str | None = None, account=None):
        """GET the SP Initiation URL; the AuthnRequest as the IdP parsed it."""
        account = account or self.account
        path = f"/login/saml/{account.domain}" + (f"?{urlencode({'next': next_target})}" if next_target else "")
        response = self.client.get(path)
        assert response.status_code == 302, response.get_data(as_text=True)
        return self.idp.receive(self.metadata(account), response.headers["Location"])

    def respond(self, request, email: str = "admin@acme.test", account=None, **options) -> str:
        return self.idp.response(request, email, sp_metadata=self.metadata(account), **options)

    def post(self, xml, relay_state=None, account=None, data: dict | None = None):
        account = account or self.account
        return self.client.post(f"/login/saml/{account.domain}/callback",
                                data=data if data is not None else post_form(xml, relay_state))

    def login(self, email: str = "admin@acme.test", next_target: str | None = None, **options):
        request = self.start(next_target)
        return self.post(self.respond(request, email, **options), relay_state=request.relay_state)


def sso_events(account=None, outcome: str | None = None) -> list[AuditEvent]:
    """The sso.login audit events, oldest first."""
    query = select(AuditEvent).where(AuditEvent.event_type == "sso.login").order_by(AuditEvent.id)
    if account is not None:
        query = query.where(AuditEvent.account_id == account.id)
    if outcome is not None:
        query = query.where(AuditEvent.outcome == outcome)
    db.session.expire_all()
    return list(db.session.scalars(query))


def last_failure(account=None) -> AuditEvent:
    events = sso_events(account, "failure")
    assert events, "no sso.login failure was audited"
    return events[-1]


def assert_refused(flow: Flow, response, reason: str, status: int = 400) -> AuditEvent:
    """A 4xx page with a reference code, the failure audited with reason, and nobody signed in."""
    page = response.get_data(as_text=True)
    assert response.status_code == status, page[:800]
    event = last_failure(flow.account)
    assert event.reason == reason, (event.reason, event.details.get("problem"))
    assert event.details["reference"] in page
    assert event.details["fix"]
    assert "Traceback" not in page and "onelogin" not in page.lower()
    assert flow.client.get("/").status_code == 302  # still anonymous
    assert sso_events(flow.account)[-1].id == event.id  # no login after the refusal
    return event


# Certificates and IdP metadata (the settings, metadata, certificate and CLI tests).
OKTA_ISSUER = "http://www.okta.com/exk1fcia6d6EMsf3Y0h8"
OKTA_SSO_URL = "https://acme.okta.com/app/acme_portal_1/exk1fcia6d6EMsf3Y0h8/sso/saml"


@dataclass
class Cert:
    pem: str
    der: bytes
    key_pem: str
    sha256: str
    sha1: str
    not_after: datetime

    @property
    def body(self) -> str:
        """The base64 between the BEGIN/END lines, without line breaks (as Okta's metadata has it)."""
        return "".join(self.pem.strip().splitlines()[1:-1])


_KEY = None


def _key():
    global _KEY  # one RSA key for every test certificate: key generation is the slow part
    if _KEY is None:
        _KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEY


def weak_key(kind: str):
    """A key the portal must refuse in an IdP certificate: "rsa1024" or "dsa"."""
    if kind == "rsa1024":
        return rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return dsa.generate_private_key(key_size=2048)


def make_cert(common_name: str = "acme.okta.com", days_valid: int = 3650, days_ago: int = 1, key=None) -> Cert:
    """A self-signed certificate valid from days_ago days back (negative: in the future) for days_valid days."""
    key = key or _key()
    now = datetime.now(timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Okta"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=days_ago))
            .not_valid_after(now - timedelta(days=days_ago) + timedelta(days=days_valid))
            .sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return Cert(pem=cert.public_bytes(serialization.Encoding.PEM).decode(), der=der, key_pem=key_pem,
                sha256=":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256())),
                sha1=":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA1())),
                not_after=cert.not_valid_after_utc.replace(tzinfo=None))


def okta_metadata(cert: Cert, issuer: str = OKTA_ISSUER, sso_url: str = OKTA_SSO_URL) -> str:
    """IdP metadata shaped like Okta's "Identity Provider metadata" download."""
    return f"""<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor entityID="{issuer}" \
xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><md:IDPSSODescriptor WantAuthnRequestsSigned="false" \
protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing">\
<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{cert.body}\
</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\
<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>\
<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>\
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{sso_url}"/>\
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sso_url}"/>\
</md:IDPSSODescriptor></md:EntityDescriptor>"""


def pysaml2_metadata(tmp_path, cert: Cert, entity_id: str = "https://idp.example.com/saml",
                     sso_url: str = "https://idp.example.com/sso/redirect") -> str:
    """IdP metadata generated by pysaml2 from an IdP configuration."""
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
    from saml2.config import IdPConfig
    from saml2.metadata import create_metadata_string

    key_file, cert_file = tmp_path / "idp.key", tmp_path / "idp.crt"
    key_file.write_text(cert.key_pem)
    cert_file.write_text(cert.pem)
    config = IdPConfig()
    config.load({
        "entityid": entity_id,
        "key_file": str(key_file),
        "cert_file": str(cert_file),
        "service": {"idp": {"endpoints": {"single_sign_on_service": [
            (sso_url, BINDING_HTTP_REDIRECT), (sso_url.replace("redirect", "post"), BINDING_HTTP_POST)]}}},
    })
    xml = create_metadata_string(None, config=config, valid=24, sign=False)
    return xml.decode() if isinstance(xml, bytes) else xml


def crlf_amp13(pem: str) -> str:
    """The certificate as it comes out of some XML tools: each line ending as &#13; plus a newline."""
    return pem.replace("\n", "&#13;\n")


def one_line(pem: str) -> str:
    return base64.b64encode(base64.b64decode("".join(pem.strip().splitlines()[1:-1]))).decode()


def cross_site_client(app, started_in):
    """A browser as the IdP's cross-site POST reaches the ACS: with the SameSite=None SSO binding cookie of the
    browser that started the login (started_in), but not its SameSite=Lax session cookie."""
    client = app.test_client()
    cookie = started_in.get_cookie(binding.COOKIE)
    if cookie is not None:
        client.set_cookie(binding.COOKIE, cookie.value)
    return client
