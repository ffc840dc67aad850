"""Read an IdP signing certificate however the admin has it (PEM, bare base64, DER) and describe it."""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from portal.errors import ServiceError
from portal.models import utcnow

EXPIRY_WARNING_DAYS = 30
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
NOT_YET_VALID_TOLERANCE = timedelta(minutes=5)  # clocks differ a little; a certificate from the future does not
MAX_CERTIFICATE_BYTES = 64 * 1024
MAX_PEM_MARKERS = 4  # one certificate has one BEGIN and one END line; a few more get a clear message
# Bounded labels, no back-reference and no lazy scan to a far END: each pattern costs time linear in the text,
# whatever an admin pastes (the old BEGIN...END regex was quadratic on a paste full of BEGIN lines).
_PEM_MARKER = re.compile(r"-----(BEGIN|END) ([A-Z0-9 ]{1,64})-----")
_ANY_MARKER = re.compile(r"-----[A-Z0-9 ]{0,64}-----")
_NEWLINE_ENTITIES = re.compile(r"&#(?:13|10|x0*[dDaA]);")


class CertificateError(ServiceError):
    """The text or file is not a usable X.509 certificate; the message says why."""


@dataclass(frozen=True)
class CertificateInfo:
    pem: str  # normalised: one BEGIN/END block, 64-character lines, LF
    sha256_fingerprint: str  # AA:BB:... upper-case, as Okta shows it
    sha1_fingerprint: str
    subject: str
    issuer: str
    serial: str
    not_before: datetime  # naive UTC, like every stored timestamp
    not_after: datetime

    key_problem: str = ""  # why the public key is too weak to trust (empty: strong enough)

    def not_yet_valid(self, now: datetime | None = None) -> bool:
        return self.not_before > (now or utcnow()) + NOT_YET_VALID_TOLERANCE

    def expired(self, now: datetime | None = None) -> bool:
        return self.not_after <= (now or utcnow())

    def expires_soon(self, now: datetime | None = None, days: int = EXPIRY_WARNING_DAYS) -> bool:
        """True when still valid but expiring within days."""
        now = now or utcnow()
        return not self.expired(now) and self.not_after <= now + timedelta(days=days)


def fingerprint(der: bytes, algorithm: hashes.HashAlgorithm) -> str:
    """Upper-case hex digest with colons, as Okta and browsers show fingerprints."""
    digest = hashes.Hash(algorithm)
    digest.update(der)
    return ":".join(f"{b:02X}" for b in digest.finalize())


def normalise_fingerprint(value: str) -> str:
    """AA:BB:... form of a fingerprint typed with or without colons, in any case."""
    hexdigits = re.sub(r"[\s:]", "", value or "").upper()
    if not re.fullmatch(r"[0-9A-F]+", hexdigits) or len(hexdigits) % 2:
        raise CertificateError(f"'{value}' is not a certificate fingerprint (hex digits, with or without colons).")
    return ":".join(hexdigits[i:i + 2] for i in range(0, len(hexdigits), 2))


def parse_certificate(data: str | bytes, now: datetime | None = None, allow_expired: bool = False) -> CertificateInfo:
    """Describe one X.509 certificate given as PEM (any line breaks), bare base64 or DER; refuse anything else."""
    if data is None or len(data) == 0:
        raise CertificateError("The certificate is empty. Paste the X.509 Certificate from your IdP or upload its file.")
    if len(data) > MAX_CERTIFICATE_BYTES:
        raise CertificateError("This is too large to be a certificate (more than 64 KB).")
    der = _to_der(data)
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        if _is_private_key(der):
            raise _private_key_error() from None
        raise CertificateError("This is not an X.509 certificate. Paste the IdP's X.509 Certificate "
                               "(the text between BEGIN CERTIFICATE and END CERTIFICATE).") from None
    info = describe(cert)
    if info.key_problem:
        raise CertificateError(f"{info.key_problem} ({info.subject}). Have your IdP sign with an RSA key of at "
                               f"least {MIN_RSA_BITS} bits, then use its new certificate.")
    if not allow_expired and info.expired(now):
        raise CertificateError(f"This certificate expired on {info.not_after:%Y-%m-%d %H:%M} UTC ({info.subject}). "
                               "Download the current certificate from your IdP.")
    if not allow_expired and info.not_yet_valid(now):
        raise CertificateError(f"This certificate is not valid until {info.not_before:%Y-%m-%d %H:%M} UTC "
                               f"({info.subject}). Add it once it is valid, or check the IdP's clock.")
    return info


def key_problem(cert: x509.Certificate) -> str:
    """Why the certificate's public key is too weak to trust for signatures (empty when it is not).

    A short RSA key can be factored by whoever wants to sign as the account's IdP, and DSA is
    deprecated for XML signatures: either would let a forged response log in.
    """
    try:
        key = cert.public_key()
    except (ValueError, TypeError):  # an unsupported or malformed key
        return "This certificate's public key cannot be read or uses an unsupported algorithm"
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            return f"This certificate has a {key.key_size}-bit RSA key; keys under {MIN_RSA_BITS} bits are refused"
        return ""
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.key_size < MIN_EC_BITS:
            return f"This certificate has a {key.curve.key_size}-bit elliptic-curve key; keys under {MIN_EC_BITS} " \
                   "bits are refused"
        return ""
    kind = type(key).__name__.replace("PublicKey", "").lstrip("_") or "unknown"
    return f"This certificate has a {kind} key, which is refused: only RSA ({MIN_RSA_BITS} bits or more) and " \
           "elliptic-curve keys are accepted"


def stored_key_problem(pem: str) -> str:
    """key_problem() of a stored certificate's PEM (empty when it cannot be read: that is reported elsewhere)."""
    try:
        return key_problem(x509.load_pem_x509_certificate(pem.encode()))
    except ValueError:
        return ""


def describe(cert: x509.Certificate) -> CertificateInfo:
    """CertificateInfo of a loaded certificate."""
    der = cert.public_bytes(Encoding.DER)
    body = base64.b64encode(der).decode()
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    serial = f"{cert.serial_number:X}"
    serial = serial if len(serial) % 2 == 0 else "0" + serial
    return CertificateInfo(
        pem=f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n",
        sha256_fingerprint=fingerprint(der, hashes.SHA256()),
        sha1_fingerprint=fingerprint(der, hashes.SHA1()),  # noqa: S303 - shown only, as Okta does
        subject=cert.subject.rfc4514_string() or "(empty subject)",
        issuer=cert.issuer.rfc4514_string() or "(empty issuer)",
        serial=":".join(serial[i:i + 2] for i in range(0, len(serial), 2)),
        not_before=cert.not_valid_before_utc.replace(tzinfo=None),
        not_after=cert.not_valid_after_utc.replace(tzinfo=None),
        key_problem=key_problem(cert),
    )


def _to_der(data: str | bytes) -> bytes:
    if isinstance(data, bytes):
        if data[:1] == b"\x30":  # an ASN.1 SEQUENCE: a DER file (.cer/.crt are often DER)
            return data
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CertificateError("This file is neither a PEM nor a DER certificate.") from None
    # Undo what copy-paste does to a certificate: XML-escaped CRs, CRLF, spaces, lost line breaks.
    text = _NEWLINE_ENTITIES.sub("\n", data).replace("\\n", "\n").replace("\\r", "\n")
    if "PRIVATE KEY" in text:
        raise _private_key_error()
    blocks = _pem_blocks(text)
    if blocks:
        kinds = {kind for kind, _ in blocks}
        if kinds - {"CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"}:
            raise CertificateError(f"This is a {sorted(kinds)[0]}, not a CERTIFICATE. Paste the IdP's X.509 "
                                   "Certificate.")
        if len(blocks) > 1:
            raise CertificateError("This contains several certificates; add them one at a time.")
        text = blocks[0][1]
    elif "-----" in text:
        # BEGIN/END lines mangled or only one of them: drop any "-----...-----" marker and keep the base64.
        text = _ANY_MARKER.sub("", text)
    compact = re.sub(r"\s+", "", text)
    if not compact:
        raise CertificateError("The certificate is empty. Paste the X.509 Certificate from your IdP or upload its file.")
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise CertificateError("This is not an X.509 certificate: it is not PEM or base64 text. Paste the IdP's "
                               "X.509 Certificate, or upload the .pem/.cer/.crt file.") from None


def _pem_blocks(text: str) -> list[tuple[str, str]]:
    """(label, body) of each BEGIN/END pair, in one pass; more than MAX_PEM_MARKERS markers are refused."""
    blocks: list[tuple[str, str]] = []
    open_label, body_start, markers = None, 0, 0
    for marker in _PEM_MARKER.finditer(text):
        markers += 1
        if markers > MAX_PEM_MARKERS:
            raise CertificateError("This contains too many BEGIN/END lines to be one certificate. Paste one "
                                   "certificate: a BEGIN CERTIFICATE line, the base64, an END CERTIFICATE line.")
        kind, label = marker.groups()
        if kind == "BEGIN":
            open_label, body_start = label, marker.end()
        elif open_label == label:
            blocks.append((label, text[body_start:marker.start()]))
            open_label = None
    return blocks


def _is_private_key(der: bytes) -> bool:
    try:
        serialization.load_der_private_key(der, password=None)
        return True
    except TypeError:  # an encrypted private key
        return True
    except Exception:  # noqa: BLE001 - any other parse failure means "not a key"
        return False


def _private_key_error() -> CertificateError:
    return CertificateError("This is a private key, not a certificate. Do not share a private key: paste the "
                            "IdP's X.509 Certificate (BEGIN CERTIFICATE) instead, and if the key left your IdP "
                            "by mistake, consider replacing it.")
