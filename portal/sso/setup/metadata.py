"""Parse an IdP's SAML metadata XML (Okta's "Identity Provider metadata") safely; shared by form and CLI."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from portal.errors import ServiceError
from portal.sso.setup.certs import CertificateError, CertificateInfo, parse_certificate
from portal.sso.xmlns import BINDING_POST, BINDING_REDIRECT, MD, NS

MAX_METADATA_BYTES = 1024 * 1024
MAX_METADATA_CERTIFICATES = 10  # Okta's metadata has one; rotation or mirrored descriptors a few more


class MetadataError(ServiceError):
    """The IdP metadata cannot be used; the message says why."""


@dataclass
class IdpMetadata:
    entity_id: str
    sso_url: str
    sso_binding: str
    certificates: list[CertificateInfo]
    warnings: list[str] = field(default_factory=list)


def _parser() -> etree.XMLParser:
    # No entity expansion, no DTD loading, no network: XXE and entity bombs cannot reach us.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


def parse_idp_metadata(data: str | bytes, now: datetime | None = None) -> IdpMetadata:
    """entityID, SSO URL (HTTP-Redirect preferred) and signing certificates of the IdP in data."""
    raw = data.encode("utf-8") if isinstance(data, str) else (data or b"")
    if not raw.strip():
        raise MetadataError("The metadata is empty. Paste the IdP metadata XML or upload its file.")
    if len(raw) > MAX_METADATA_BYTES:
        raise MetadataError(f"The metadata is larger than {MAX_METADATA_BYTES // 1024} KB; this is not IdP metadata.")
    if re.search(rb"<!DOCTYPE|<!ENTITY", raw, re.I):
        raise MetadataError("The metadata contains a DOCTYPE or ENTITY declaration, which is not allowed in SAML "
                            "metadata. Download the metadata from your IdP again.")
    if isinstance(data, str):
        raw = re.sub(rb"^\s*<\?xml[^>]*\?>", b"", raw)  # the text is already decoded; drop the encoding claim
    try:
        root = etree.fromstring(raw.strip(), parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise MetadataError(f"The metadata is not well-formed XML: {exc.msg} (line {exc.lineno}).") from None
    descriptor = _entity_descriptor(root)
    entity_id = (descriptor.get("entityID") or "").strip()
    if not entity_id:
        raise MetadataError("The metadata's EntityDescriptor has no entityID (the Identity Provider Issuer).")
    idp = descriptor.find("md:IDPSSODescriptor", NS)
    sso_url, binding = _sso_service(idp)
    certificates, warnings = _signing_certificates(idp, now)
    return IdpMetadata(entity_id=entity_id, sso_url=sso_url, sso_binding=binding, certificates=certificates,
                       warnings=warnings)


def _entity_descriptor(root):
    if root.tag == f"{{{MD}}}EntityDescriptor":
        candidates = [root]
    elif root.tag == f"{{{MD}}}EntitiesDescriptor":
        candidates = root.findall(".//md:EntityDescriptor", NS)
    else:
        raise MetadataError("This XML is not SAML 2.0 metadata (no md:EntityDescriptor). Use the IdP's metadata, "
                            "for Okta: Sign On tab → Identity Provider metadata.")
    idps = [c for c in candidates if c.find("md:IDPSSODescriptor", NS) is not None]
    if not idps:
        raise MetadataError("The metadata describes no Identity Provider (no IDPSSODescriptor). Is this the SP "
                            "metadata instead of the IdP's?")
    if len(idps) > 1:
        raise MetadataError(f"The metadata describes {len(idps)} Identity Providers; use the metadata of one IdP.")
    return idps[0]


def _sso_service(idp) -> tuple[str, str]:
    services = {s.get("Binding"): (s.get("Location") or "").strip()
                for s in idp.findall("md:SingleSignOnService", NS)}
    for binding in (BINDING_REDIRECT, BINDING_POST):
        if services.get(binding):
            return services[binding], binding
    raise MetadataError("The metadata has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding "
                        "(the IdP Login URL).")


def _signing_certificates(idp, now) -> tuple[list[CertificateInfo], list[str]]:
    certificates: list[CertificateInfo] = []
    warnings: list[str] = []
    seen: set[str] = set()
    nodes = [node for key in idp.findall("md:KeyDescriptor", NS) if key.get("use") in (None, "", "signing")
             for node in key.findall(".//ds:X509Certificate", NS)]  # encryption-only keys do not sign responses
    if len(nodes) > MAX_METADATA_CERTIFICATES:
        raise MetadataError(f"The metadata lists {len(nodes)} signing certificates; at most "
                            f"{MAX_METADATA_CERTIFICATES} are accepted. Use the metadata of one IdP application.")
    for node in nodes:
        try:
            info = parse_certificate(node.text or "", now=now, allow_expired=True)
        except CertificateError as exc:
            raise MetadataError(f"A signing certificate in the metadata is unusable: {exc}") from None
        if info.sha256_fingerprint in seen:
            continue
        seen.add(info.sha256_fingerprint)
        if info.expired(now):
            warnings.append(f"Skipped the certificate {info.subject} ({info.sha256_fingerprint}): it expired on "
                            f"{info.not_after:%Y-%m-%d}.")
            continue
        if info.not_yet_valid(now):
            warnings.append(f"Skipped the certificate {info.subject} ({info.sha256_fingerprint}): it is not valid "
                            f"until {info.not_before:%Y-%m-%d %H:%M} UTC; import the metadata again then.")
            continue
        certificates.append(info)
    if not certificates:
        raise MetadataError("The metadata has no valid signing certificate (KeyDescriptor with an X509Certificate"
                            + (", all of them expired or not yet valid" if warnings else "") + ").")
    return certificates, warnings
