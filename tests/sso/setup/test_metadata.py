"""parse_idp_metadata: Okta's and pysaml2's metadata; hostile or broken documents get a clear message."""
from __future__ import annotations

import time

import pytest

from portal.sso.setup.metadata import MAX_METADATA_BYTES, MetadataError, parse_idp_metadata
from tests.sso.helpers import OKTA_ISSUER, OKTA_SSO_URL, okta_metadata, pysaml2_metadata

REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"


def test_okta_metadata(valid_cert):
    metadata = parse_idp_metadata(okta_metadata(valid_cert))
    assert metadata.entity_id == OKTA_ISSUER
    assert metadata.sso_url == OKTA_SSO_URL
    assert metadata.sso_binding == REDIRECT
    assert [c.sha256_fingerprint for c in metadata.certificates] == [valid_cert.sha256]


def test_okta_metadata_as_bytes(valid_cert):
    assert parse_idp_metadata(okta_metadata(valid_cert).encode()).entity_id == OKTA_ISSUER


def test_pysaml2_metadata(tmp_path, valid_cert):
    metadata = parse_idp_metadata(pysaml2_metadata(tmp_path, valid_cert))
    assert metadata.entity_id == "https://idp.example.com/saml"
    assert metadata.sso_url == "https://idp.example.com/sso/redirect"  # HTTP-Redirect preferred over POST
    assert [c.sha256_fingerprint for c in metadata.certificates] == [valid_cert.sha256]


def test_post_binding_only(valid_cert):
    xml = okta_metadata(valid_cert).replace(f'<md:SingleSignOnService Binding="{REDIRECT}" '
                                            f'Location="{OKTA_SSO_URL}"/>', "")
    assert parse_idp_metadata(xml).sso_binding.endswith("HTTP-POST")


def test_two_signing_certificates_and_an_encryption_key(valid_cert, second_cert):
    xml = okta_metadata(valid_cert)
    extra = (f'<md:KeyDescriptor><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>'
             f'<ds:X509Certificate>{second_cert.body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>'
             f'</md:KeyDescriptor>')
    encryption = extra.replace("<md:KeyDescriptor>", '<md:KeyDescriptor use="encryption">')
    xml = xml.replace("<md:NameIDFormat>", extra + encryption + "<md:NameIDFormat>", 1)
    fingerprints = [c.sha256_fingerprint for c in parse_idp_metadata(xml).certificates]
    assert fingerprints == [valid_cert.sha256, second_cert.sha256]


def test_entities_descriptor_wrapper(valid_cert):
    inner = okta_metadata(valid_cert).split("?>", 1)[1]
    xml = f'<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">{inner}</md:EntitiesDescriptor>'
    assert parse_idp_metadata(xml).entity_id == OKTA_ISSUER


def test_expired_certificate_is_skipped_with_a_warning(valid_cert, expired_cert):
    xml = okta_metadata(valid_cert)
    old = xml[xml.index("<md:KeyDescriptor"):xml.index("</md:KeyDescriptor>") + len("</md:KeyDescriptor>")]
    xml = xml.replace(old, old + old.replace(valid_cert.body, expired_cert.body))
    metadata = parse_idp_metadata(xml)
    assert [c.sha256_fingerprint for c in metadata.certificates] == [valid_cert.sha256]
    assert "expired" in metadata.warnings[0] and expired_cert.sha256 in metadata.warnings[0]


def test_only_expired_certificates_are_refused(valid_cert, expired_cert):
    xml = okta_metadata(valid_cert).replace(valid_cert.body, expired_cert.body)
    with pytest.raises(MetadataError, match="expired"):
        parse_idp_metadata(xml)


XXE = """<?xml version="1.0"?>
<!DOCTYPE md [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&xxe;"/>"""
BOMB = """<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>"""


@pytest.mark.parametrize("xml, message", [
    ("", "empty"),
    (XXE, "DOCTYPE"),
    (BOMB, "DOCTYPE"),
    ("<md:EntityDescriptor", "not well-formed"),
    ("<html><body>Okta login</body></html>", "not SAML 2.0 metadata"),
    ('<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x">'
     '<md:SPSSODescriptor/></md:EntityDescriptor>', "no Identity Provider"),
])
def test_refusals(xml, message):
    with pytest.raises(MetadataError, match=message):
        parse_idp_metadata(xml)


def test_missing_entity_id(valid_cert):
    with pytest.raises(MetadataError, match="no entityID"):
        parse_idp_metadata(okta_metadata(valid_cert, issuer=""))


def test_missing_sso_service(valid_cert):
    xml = okta_metadata(valid_cert).replace("SingleSignOnService", "SingleLogoutService")
    with pytest.raises(MetadataError, match="SingleSignOnService"):
        parse_idp_metadata(xml)


def test_missing_certificate(valid_cert):
    xml = okta_metadata(valid_cert).replace('use="signing"', 'use="encryption"')
    with pytest.raises(MetadataError, match="no valid signing certificate"):
        parse_idp_metadata(xml)


def test_broken_certificate(valid_cert):
    xml = okta_metadata(valid_cert).replace(valid_cert.body, "bm90IGEgY2VydA==")
    with pytest.raises(MetadataError, match="unusable"):
        parse_idp_metadata(xml)


def test_size_limit():
    with pytest.raises(MetadataError, match="larger than"):
        parse_idp_metadata(b"<a>" + b" " * MAX_METADATA_BYTES + b"</a>")


def _key_descriptors(body: str, count: int) -> str:
    key = (f'<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>'
           f'<ds:X509Certificate>{body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>')
    return key * count


def test_one_mib_metadata_is_answered_within_two_seconds(valid_cert):
    # Sixteen certificates of ~64 KB, each a real certificate behind unmatched BEGIN lines: the old
    # parser accepted each after ~2 s of regex backtracking, so the upload pinned a worker for ~30 s.
    body = "-----BEGIN A-----\n" * 3500 + valid_cert.pem
    xml = okta_metadata(valid_cert)
    start = xml.index("<md:KeyDescriptor")
    end = xml.index("</md:KeyDescriptor>") + len("</md:KeyDescriptor>")
    for count in (16, 3):
        document = xml[:start] + _key_descriptors(body, count) + xml[end:]
        assert count == 3 or 1000 * 1024 < len(document) <= MAX_METADATA_BYTES
        started = time.monotonic()
        with pytest.raises(MetadataError):
            parse_idp_metadata(document)
        assert time.monotonic() - started < 2, count


def test_too_many_signing_certificates_refused(valid_cert):
    xml = okta_metadata(valid_cert)
    key = xml[xml.index("<md:KeyDescriptor"):xml.index("</md:KeyDescriptor>") + len("</md:KeyDescriptor>")]
    with pytest.raises(MetadataError, match="lists 11 signing certificates"):
        parse_idp_metadata(xml.replace(key, key * 11))
    assert len(parse_idp_metadata(xml.replace(key, key * 10)).certificates) == 1  # duplicates count once
