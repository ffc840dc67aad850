"""An independent SAML 2.0 IdP for tests and the local demo, built on pysaml2 (signs with Debian's xmlsec1).

It never uses the portal's SAML code: it reads the portal's SP metadata, parses the AuthnRequest from the
redirect URL with pysaml2's Server, and answers with an Okta-like Response (Issuer, NameID emailAddress,
firstName/lastName, Group attribute with one value per group, Response and Assertion signed RSA-SHA256).
Every field can be varied so tests can produce wrong issuers, audiences, times, keys and so on. With
encrypt_for (the SP certificate) it encrypts the signed Assertion as Okta does (AES-256-CBC, RSA-OAEP key
transport, xmlsec1) inside an EncryptedAssertion.
"""
from __future__ import annotations

import base64
import datetime as dt
import shutil
import tempfile
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from cryptography.utils import CryptographyDeprecationWarning

with warnings.catch_warnings():
    # pysaml2 still names cipher modes that cryptography has moved; harmless for signing.
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, class_name, saml, samlp
    from saml2.config import IdPConfig
    from saml2.saml import NAME_FORMAT_BASIC, NAME_FORMAT_UNSPECIFIED, NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_ENTITY
    from saml2.server import Server
    from saml2.sigver import RSA_OAEP_MGF1P, pre_encrypt_assertion, pre_encryption_part, pre_signature_part
    from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

GROUP_ATTRIBUTE = "http://schemas.xmlsoap.org/claims/Group"
NAMEID_FORMAT_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
STATUS_RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
_CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
# Attribute names and NameFormat of each IdP's usual response: (first name, last name, groups, NameFormat).
ATTRIBUTE_STYLES = {
    "okta": ("firstName", "lastName", GROUP_ATTRIBUTE, NAME_FORMAT_UNSPECIFIED),
    # Entra ID's default claims plus a group claim (object IDs unless the app is configured otherwise).
    "entra": (_CLAIMS + "givenname", _CLAIMS + "surname",
              "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups", None),
    # Google Workspace custom SAML app: the App attribute names its admin types in Attribute mapping.
    "google": ("firstName", "lastName", "groups", None),
}
AES256_CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
_DEFAULT = object()


@dataclass(frozen=True)
class KeyPair:
    """An RSA key and its self-signed certificate, as files (xmlsec1 wants paths)."""
    key_path: str
    cert_path: str
    cert_pem: str

    @property
    def cert_b64(self) -> str:
        """The certificate body on one line (what Okta's setup page shows without the PEM armour)."""
        return "".join(line for line in self.cert_pem.splitlines() if "-----" not in line)


def make_keypair(directory: str | Path, name: str, common_name: str = "Test IdP", days: int = 3650) -> KeyPair:
    """Generate a 2048-bit RSA key and a self-signed certificate into directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Portal test IdP")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=days)).sign(key, hashes.SHA256()))
    key_path, cert_path = directory / f"{name}.key", directory / f"{name}.crt"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    cert_path.write_text(cert_pem)
    return KeyPair(str(key_path), str(cert_path), cert_pem)


@dataclass(frozen=True)
class AuthnInfo:
    """What the IdP learnt from an AuthnRequest."""
    request_id: str
    acs_url: str
    sp_entity_id: str
    relay_state: str | None
    nameid_format: str | None
    force_authn: bool


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _id() -> str:
    return "id" + uuid.uuid4().hex  # an NCName: must not start with a digit


class TestIdp:
    """A pysaml2 IdP with one signing key; response() takes keyword options for every variant."""

    __test__ = False  # not a pytest test class

    def __init__(self, keypair: KeyPair, issuer: str = "http://www.okta.com/exkTESTIDP",
                 sso_url: str = "https://idp.test/app/portal/sso/saml", want_signed_requests: bool = False):
        self.keypair = keypair
        self.issuer = issuer
        self.sso_url = sso_url
        # pysaml2 then verifies the redirect signature against the signing certificate(s) in the SP metadata.
        self.want_signed_requests = want_signed_requests
        self._servers: dict[str, Server] = {}
        if not shutil.which("xmlsec1"):
            raise RuntimeError("the test IdP needs Debian's xmlsec1 (apt-get install xmlsec1)")

    def server(self, sp_metadata: str) -> Server:
        """A pysaml2 Server that knows the SP from its metadata XML."""
        if sp_metadata not in self._servers:
            config = IdPConfig()
            config.load({
                "entityid": self.issuer,
                "service": {"idp": {
                    "endpoints": {"single_sign_on_service": [(self.sso_url, BINDING_HTTP_REDIRECT)]},
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    "want_authn_requests_signed": self.want_signed_requests,
                }},
                "key_file": self.keypair.key_path,
                "cert_file": self.keypair.cert_path,
                "metadata": {"inline": [sp_metadata]},
                "xmlsec_binary": shutil.which("xmlsec1"),
                "delete_tmpfiles": True,
            })
            self._servers[sp_metadata] = Server(config=config)
        return self._servers[sp_metadata]

    def receive(self, sp_metadata: str, redirect_url: str) -> AuthnInfo:
        """Parse the AuthnRequest carried by the SP's redirect (HTTP-Redirect binding); with want_signed_requests,
        pysaml2 refuses it (IncorrectlySigned) unless its signature verifies against the SP metadata."""
        query = parse_qs(urlsplit(redirect_url).query)
        relay = query.get("RelayState", [None])[0]
        parsed = self.server(sp_metadata).parse_authn_request(
            query["SAMLRequest"][0], BINDING_HTTP_REDIRECT, relay_state=relay,
            sigalg=query.get("SigAlg", [None])[0], signature=query.get("Signature", [None])[0])
        message = parsed.message
        policy = message.name_id_policy
        return AuthnInfo(request_id=message.id, acs_url=message.assertion_consumer_service_url,
                         sp_entity_id=message.issuer.text, relay_state=relay,
                         nameid_format=policy.format if policy is not None else None,
                         force_authn=str(message.force_authn).lower() == "true")

    def response(self, request: AuthnInfo | None, email: str, *, sp_metadata: str | None = None,
                 first_name: str | None = "Jane", last_name: str | None = "Doe", groups=("Everyone",),
                 attributes: dict | None = None, issuer: str | None = None, assertion_issuer: str | None = None,
                 destination=_DEFAULT, recipient=_DEFAULT, audience=_DEFAULT, in_response_to=_DEFAULT,
                 subject_in_response_to=_DEFAULT, now: dt.datetime | None = None, lifetime: int = 300,
                 not_before=_DEFAULT, not_on_or_after=_DEFAULT, subject_not_on_or_after=_DEFAULT,
                 sign_response: bool = True, sign_assertion: bool = True, key: KeyPair | None = None,
                 embed_certificate: bool = True, sign_alg: str = SIG_RSA_SHA256, digest_alg: str = DIGEST_SHA256,
                 status: str = STATUS_SUCCESS, nameid_format: str | None = NAMEID_FORMAT_EMAILADDRESS,
                 assertion_id: str | None = None, response_id: str | None = None,
                 session_not_on_or_after: dt.datetime | None = None, attribute_style: str = "okta",
                 encrypt_for: str | None = None) -> str:
        """The signed Response XML answering request (None: IdP-initiated, no InResponseTo).

        attribute_style: "okta", "entra" or "google": the attribute names (ATTRIBUTE_STYLES) of names and groups.
        encrypt_for: a certificate PEM (the SP's); the signed Assertion is then encrypted for it.
        """
        now = now or dt.datetime.now(dt.timezone.utc)
        acs = request.acs_url if request else ""
        request_id = request.request_id if request else None
        pick = (lambda value, default: default if value is _DEFAULT else value)
        issuer = issuer or self.issuer
        response_id = response_id or _id()
        assertion_id = assertion_id or _id()
        irt = pick(in_response_to, request_id)
        nameid = saml.NameID(text=email, format=nameid_format) if nameid_format else saml.NameID(text=email)
        scd_expiry = pick(subject_not_on_or_after, now + dt.timedelta(seconds=lifetime))
        scd = saml.SubjectConfirmationData(
            recipient=pick(recipient, acs) or None, in_response_to=pick(subject_in_response_to, irt) or None,
            not_on_or_after=_time(scd_expiry) if scd_expiry else None)
        conditions = saml.Conditions()
        nb = pick(not_before, now - dt.timedelta(seconds=lifetime))
        nooa = pick(not_on_or_after, now + dt.timedelta(seconds=lifetime))
        conditions.not_before = _time(nb) if nb else None
        conditions.not_on_or_after = _time(nooa) if nooa else None
        aud = pick(audience, request.sp_entity_id if request else None)
        if aud:
            conditions.audience_restriction = [saml.AudienceRestriction(audience=[saml.Audience(text=aud)])]
        assertion = saml.Assertion(
            id=assertion_id, version="2.0", issue_instant=_time(now),
            issuer=saml.Issuer(text=assertion_issuer or issuer, format=NAMEID_FORMAT_ENTITY),
            subject=saml.Subject(name_id=nameid, subject_confirmation=[saml.SubjectConfirmation(
                method=saml.SCM_BEARER, subject_confirmation_data=scd)]),
            conditions=conditions,
            authn_statement=[saml.AuthnStatement(
                authn_instant=_time(now), session_index=_id(),
                session_not_on_or_after=_time(session_not_on_or_after) if session_not_on_or_after else None,
                authn_context=saml.AuthnContext(authn_context_class_ref=saml.AuthnContextClassRef(
                    text=PASSWORD_PROTECTED)))])
        statement = self._attributes(first_name, last_name, groups, attributes, attribute_style, email)
        if statement:
            assertion.attribute_statement = [saml.AttributeStatement(attribute=statement)]
        response = samlp.Response(
            id=response_id, version="2.0", issue_instant=_time(now), destination=pick(destination, acs) or None,
            in_response_to=irt or None, issuer=saml.Issuer(text=issuer, format=NAMEID_FORMAT_ENTITY),
            status=samlp.Status(status_code=samlp.StatusCode(value=status)))
        if status == STATUS_SUCCESS:
            response.assertion = [assertion]
        return self.sign(response, assertion if status == STATUS_SUCCESS else None, sign_response=sign_response,
                         sign_assertion=sign_assertion, key=key, embed_certificate=embed_certificate,
                         sign_alg=sign_alg, digest_alg=digest_alg, sp_metadata=sp_metadata,
                         encrypt_for=encrypt_for if status == STATUS_SUCCESS else None)

    def idp_initiated(self, sp_metadata: str, email: str, relay_state: str | None = None, **options) -> dict:
        """An IdP-initiated login (a dashboard tile): the ACS form fields of an unsolicited Response.

        No InResponseTo; ACS URL and audience come from the SP metadata; relay_state is the app's
        "Default RelayState". options are response()'s.
        """
        metadata = self.server(sp_metadata).metadata
        entity_id = next(iter(metadata.with_descriptor("spsso")))
        acs = metadata.assertion_consumer_service(entity_id, BINDING_HTTP_POST)[0]["location"]
        options = {"destination": acs, "recipient": acs, "audience": entity_id, **options}
        return post_form(self.response(None, email, sp_metadata=sp_metadata, **options), relay_state)

    def sign(self, response, assertion, *, sign_response=True, sign_assertion=True, key: KeyPair | None = None,
             embed_certificate=True, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256,
             sp_metadata: str | None = None, encrypt_for: str | None = None) -> str:
        """Sign the Assertion, encrypt it for encrypt_for (a certificate PEM) if given, then sign the Response."""
        key = key or self.keypair
        cert = key.cert_b64 if embed_certificate else None
        if assertion is not None and sign_assertion:
            assertion.signature = pre_signature_part(assertion.id, cert, sign_alg=sign_alg, digest_alg=digest_alg)
        if sign_response:
            response.signature = pre_signature_part(response.id, cert, sign_alg=sign_alg, digest_alg=digest_alg)
        if encrypt_for:
            response = pre_encrypt_assertion(response)  # the Assertion moves into an EncryptedAssertion
        xml = str(response)
        security = self._security(sp_metadata)
        if assertion is not None and sign_assertion:
            xml = security.sign_statement(xml, class_name(assertion), key_file=key.key_path, node_id=assertion.id)
        if encrypt_for:
            xml = self._encrypt(security, xml, encrypt_for)
        if sign_response:
            xml = security.sign_statement(xml, class_name(response), key_file=key.key_path, node_id=response.id)
        return xml

    @staticmethod
    def _encrypt(security, xml: str, cert_pem: str) -> str:
        """Encrypt the (signed) Assertion for cert_pem with xmlsec1: AES-256-CBC, key transport RSA-OAEP."""
        body = "".join(line for line in cert_pem.strip().splitlines() if "-----" not in line)
        template = pre_encryption_part(msg_enc=AES256_CBC, key_enc=RSA_OAEP_MGF1P, encrypt_cert=body)
        with tempfile.NamedTemporaryFile("w", suffix=".pem") as cert_file:
            cert_file.write(cert_pem)
            cert_file.flush()
            return security.encrypt_assertion(xml, cert_file.name, template, key_type="aes-256")

    def _security(self, sp_metadata: str | None):
        if sp_metadata is None and self._servers:
            return next(iter(self._servers.values())).sec
        if sp_metadata is None:
            raise RuntimeError("call receive() first or pass sp_metadata")
        return self.server(sp_metadata).sec

    @staticmethod
    def _attributes(first_name, last_name, groups, extra, style: str = "okta", email: str = "") -> list:
        first_attr, last_attr, group_attr, name_format = ATTRIBUTE_STYLES[style]
        found = []
        if style == "entra":  # Entra's other default claims: a display name next to the given name and surname
            display = " ".join(v for v in (first_name, last_name) if v)
            for name, value in ((_CLAIMS + "emailaddress", email), (_CLAIMS + "name", email),
                                ("http://schemas.microsoft.com/identity/claims/displayname", display)):
                if value:
                    found.append(saml.Attribute(name=name, attribute_value=[saml.AttributeValue(text=value)]))
        for name, value in ((first_attr, first_name), (last_attr, last_name)):
            if value is not None:
                found.append(saml.Attribute(name=name, name_format=name_format,
                                            attribute_value=[saml.AttributeValue(text=value)]))
        if groups:
            found.append(saml.Attribute(name=group_attr, name_format=NAME_FORMAT_BASIC if style == "okta" else None,
                                        attribute_value=[saml.AttributeValue(text=g) for g in groups]))
        for name, values in (extra or {}).items():
            found.append(saml.Attribute(name=name, name_format=NAME_FORMAT_BASIC,
                                        attribute_value=[saml.AttributeValue(text=v) for v in values]))
        return found


def post_form(xml: str | bytes, relay_state: str | None = None) -> dict:
    """The HTTP-POST binding form fields the browser sends to the ACS."""
    raw = xml.encode() if isinstance(xml, str) else xml
    data = {"SAMLResponse": base64.b64encode(raw).decode()}
    if relay_state is not None:
        data["RelayState"] = relay_state
    return data
