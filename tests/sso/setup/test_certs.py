"""parse_certificate: every way an admin has a certificate gives the same fingerprint; refusals say why."""
from __future__ import annotations

import time

import pytest

from portal.sso.setup.certs import MAX_CERTIFICATE_BYTES, CertificateError, normalise_fingerprint, parse_certificate
from tests.sso.helpers import crlf_amp13, one_line

FORMATS = {
    "pem": lambda c: c.pem,
    "pem without BEGIN/END lines": lambda c: "\n".join(c.pem.strip().splitlines()[1:-1]),
    "crlf": lambda c: c.pem.replace("\n", "\r\n"),
    "&#13; entities": lambda c: crlf_amp13(c.pem),
    "spaces instead of line breaks": lambda c: c.pem.replace("\n", " "),
    "one long base64 line": lambda c: one_line(c.pem),
    "indented, with blank lines": lambda c: "\n\n   " + c.pem.replace("\n", "\n    ") + "\n\n",
    "BEGIN/END glued to the base64": lambda c: c.pem.replace("\n", ""),
    "pem bytes": lambda c: c.pem.encode(),
    "der bytes": lambda c: c.der,
}


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_gives_the_same_certificate(name, valid_cert):
    info = parse_certificate(FORMATS[name](valid_cert))
    assert info.sha256_fingerprint == valid_cert.sha256
    assert info.sha1_fingerprint == valid_cert.sha1
    assert info.pem == parse_certificate(valid_cert.pem).pem


def test_description(valid_cert):
    info = parse_certificate(valid_cert.pem)
    assert info.subject == "CN=acme.okta.com,O=Okta,C=US"
    assert info.issuer == info.subject
    assert info.pem.startswith("-----BEGIN CERTIFICATE-----\n") and info.pem.endswith("-----END CERTIFICATE-----\n")
    assert all(len(line) <= 64 for line in info.pem.splitlines())
    assert len(info.sha256_fingerprint) == 95 and info.sha256_fingerprint == info.sha256_fingerprint.upper()
    assert info.not_after == valid_cert.not_after
    assert info.not_before < info.not_after
    assert ":" in info.serial and info.serial == info.serial.upper()


def test_expiring_soon_is_accepted_and_flagged(expiring_cert, valid_cert):
    assert parse_certificate(expiring_cert.pem).expires_soon()
    assert not parse_certificate(valid_cert.pem).expires_soon()


def test_expired_is_refused(expired_cert):
    with pytest.raises(CertificateError, match="expired on"):
        parse_certificate(expired_cert.pem)
    assert parse_certificate(expired_cert.pem, allow_expired=True).expired()


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("   \n  ", "empty"),
    ("hello world, this is not a certificate", "not an X.509 certificate"),
    ("TUlJQzlEQ0NBZHlnQXdJQkFnSVVRbFdFTmFJWUJH", "not an X.509 certificate"),  # base64, but not a certificate
    ("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----", "PUBLIC KEY"),
])
def test_refusals(text, message):
    with pytest.raises(CertificateError, match=message):
        parse_certificate(text)


def test_private_key_is_refused(private_key_pem):
    with pytest.raises(CertificateError, match="private key"):
        parse_certificate(private_key_pem)
    body = "".join(private_key_pem.strip().splitlines()[1:-1])  # pasted without its BEGIN line
    with pytest.raises(CertificateError, match="private key"):
        parse_certificate(body)


def test_several_certificates_are_refused(valid_cert):
    with pytest.raises(CertificateError, match="one at a time"):
        parse_certificate(valid_cert.pem + valid_cert.pem)


def test_binary_garbage_is_refused():
    with pytest.raises(CertificateError):
        parse_certificate(b"\xff\xfe\x00garbage")
    with pytest.raises(CertificateError, match="not an X.509"):
        parse_certificate(b"\x30\x03\x02\x01\x01")


@pytest.mark.parametrize("value", ["aa:bb:cc", "AABBCC", "aabbcc", " AA:bb:Cc "])
def test_normalise_fingerprint(value):
    assert normalise_fingerprint(value) == "AA:BB:CC"


def test_normalise_fingerprint_refuses_non_hex():
    with pytest.raises(CertificateError):
        normalise_fingerprint("not-hex")


def _begin_lines_then(cert_pem: str, size: int = 64 * 1024) -> str:
    """A paste of size characters: unmatched BEGIN lines, then a real certificate at the end."""
    filler = size - len(cert_pem)
    return "-----BEGIN A-----\n" * (filler // 18) + cert_pem


def test_paste_full_of_begin_lines_is_answered_in_linear_time(valid_cert):
    # The old BEGIN...END regex scanned to the end of the text for every BEGIN line: ~2 s for 64 KB.
    text = _begin_lines_then(valid_cert.pem)
    assert 60 * 1024 < len(text) <= MAX_CERTIFICATE_BYTES
    started = time.monotonic()
    with pytest.raises(CertificateError, match="too many BEGIN/END lines"):
        parse_certificate(text)
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("text", ["-----" + "A" * 65000, "-----BEGIN " + "A" * 65000, "-" * 65000,
                                  "-----BEGIN CERTIFICATE-----" + "A" * 65000])
def test_other_hostile_pastes_are_answered_fast(text):
    started = time.monotonic()
    with pytest.raises(CertificateError):
        parse_certificate(text)
    assert time.monotonic() - started < 0.5


def test_too_large_paste_refused(valid_cert):
    with pytest.raises(CertificateError, match="more than 64 KB"):
        parse_certificate(_begin_lines_then(valid_cert.pem, MAX_CERTIFICATE_BYTES + 100))
