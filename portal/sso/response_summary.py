"""A redacted, bounded summary of what an IdP posted, for the audit log (never identity decisions).

No signature or digest values and no raw XML are kept; the whole summary stays under MAX_SUMMARY_CHARS
(attribute values are cut first) so the failure's reference and fix always fit in its audit event.
"""
from __future__ import annotations

import base64
import binascii
import json
from functools import lru_cache
from itertools import islice

from cryptography.hazmat.primitives import hashes
from lxml import etree

from portal.sso.setup.certs import fingerprint
from portal.sso.xmlns import DS, NS, SAML

ASSERTION = f"{{{SAML}}}Assertion"  # anywhere in the document, as //saml:Assertion
SIGNATURE = f"{{{DS}}}Signature"
MAX_TEXT = 200
MAX_ATTRIBUTES = 30
MAX_VALUES = 30
MAX_SUMMARY_CHARS = 8000  # the audit event holds 16,000: room left for the fix, reference and problem
COMPACT_CHARS = 3000  # the smaller copy kept with a successful login
COMPACT_TEXT = 100
# What a successful login keeps: enough to review the attributes, nothing an admin would not need.
COMPACT_KEYS = ("issuer", "destination", "recipient", "audiences", "nameid", "nameid_format", "not_before",
                "not_on_or_after", "subject_not_on_or_after", "attributes", "signatures")


def summarize(document) -> dict:
    """Issuer, destination, audience, recipient, NameID, times, attributes, signing certs of a parsed Response."""
    try:
        return fit(_summary(document), MAX_SUMMARY_CHARS)
    except Exception as exc:  # noqa: BLE001 - a summary of hostile XML must never break the refusal
        return {"summary_error": exc.__class__.__name__}


def compact(summary: dict) -> dict:
    """A smaller copy of a summary for a successful login: main fields, attribute values trimmed."""
    small = {key: summary[key] for key in COMPACT_KEYS if key in summary}
    if "signatures" in small:
        small["signatures"] = [{k: v for k, v in sig.items() if k in ("element", "certificate_sha256")}
                               for sig in small["signatures"]]
    if "attributes" in small:
        small["attributes"] = {_cut(name, COMPACT_TEXT): _capped([_cut(v, COMPACT_TEXT) for v in values], 10)
                               for name, values in small["attributes"].items()}
    return fit(small, COMPACT_CHARS)


def fit(summary: dict, limit: int) -> dict:
    """Cut attribute values (then attributes) until the JSON of summary is at most limit characters."""
    if _size(summary) <= limit:
        return summary
    attributes = summary.get("attributes") or {}
    for cap in (10, 3, 1, 0):
        trimmed = {name: _capped(values, cap) for name, values in attributes.items()}
        candidate = {**summary, "attributes": trimmed, "trimmed": True}
        if _size(candidate) <= limit:
            return candidate
    names = list(attributes)
    candidate = {**summary, "attributes": {}, "trimmed": True,
                 "attribute_names": [_cut(n, 60) for n in names[:20]]}
    if _size(candidate) <= limit:
        return candidate
    # Every text field is already capped, so only a pathological document gets here: keep the key facts.
    return {key: summary[key] for key in ("issuer", "destination", "nameid", "nameid_format", "status")
            if key in summary} | {"trimmed": True}


def _summary(root) -> dict:
    assertions = list(root.iter(ASSERTION))
    summary = {
        "response_id": _t(root.get("ID")),
        "issue_instant": _t(root.get("IssueInstant")),
        "destination": _t(root.get("Destination")),
        "in_response_to": _t(root.get("InResponseTo")),
        "issuer": _text(root.find("saml:Issuer", NS)),
        "status": _t(_attribute(root, "samlp:Status/samlp:StatusCode", "Value")),
        "status_message": _text(root.find("samlp:Status/samlp:StatusMessage", NS)),
        "assertion_count": len(assertions),
        "signatures": [_signature(sig) for sig in islice(root.iter(SIGNATURE), 4)],
    }
    if assertions:
        summary.update(_assertion(assertions[0]))
    return {key: value for key, value in summary.items() if value not in (None, "", [], {})}


def _assertion(assertion) -> dict:
    nameid = assertion.find("saml:Subject/saml:NameID", NS)
    scd = assertion.find("saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData", NS)
    conditions = assertion.find("saml:Conditions", NS)
    attributes = {}
    for attribute in assertion.findall("saml:AttributeStatement/saml:Attribute", NS)[:MAX_ATTRIBUTES]:
        values = [_text(v) for v in attribute.findall("saml:AttributeValue", NS)]
        attributes[_t(attribute.get("Name")) or "(no name)"] = _capped(values, MAX_VALUES)
    return {
        "assertion_id": _t(assertion.get("ID")),
        "assertion_issuer": _text(assertion.find("saml:Issuer", NS)),
        "nameid": _text(nameid),
        "nameid_format": _t(nameid.get("Format")) if nameid is not None else None,
        "recipient": _t(scd.get("Recipient")) if scd is not None else None,
        "subject_in_response_to": _t(scd.get("InResponseTo")) if scd is not None else None,
        "subject_not_on_or_after": _t(scd.get("NotOnOrAfter")) if scd is not None else None,
        "not_before": _t(conditions.get("NotBefore")) if conditions is not None else None,
        "not_on_or_after": _t(conditions.get("NotOnOrAfter")) if conditions is not None else None,
        "audiences": [_text(a) for a in assertion.findall("saml:Conditions/saml:AudienceRestriction/saml:Audience",
                                                            NS)][:10],
        "attributes": attributes,
    }


def _signature(sig) -> dict:
    parent = sig.getparent()
    info = {
        "element": etree.QName(parent).localname if parent is not None else "",
        "algorithm": _t(_attribute(sig, "ds:SignedInfo/ds:SignatureMethod", "Algorithm")),
        "digest": _t(_attribute(sig, "ds:SignedInfo/ds:Reference/ds:DigestMethod", "Algorithm")),
    }
    cert = sig.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
    if cert is not None and cert.text:
        info["certificate_sha256"] = _certificate_sha256(cert.text)
    return info


@lru_cache(maxsize=256)
def _certificate_sha256(text: str) -> str:
    """SHA-256 fingerprint of a KeyInfo certificate's base64 text (an IdP sends the same one on every login)."""
    try:
        return fingerprint(base64.b64decode("".join(text.split()), validate=True), hashes.SHA256())
    except (binascii.Error, ValueError):
        return "(unreadable)"


def _capped(values: list, cap: int) -> list:
    """The first cap values, and a note of how many were left out."""
    return values[:cap] + ([f"... {len(values) - cap} more"] if len(values) > cap else [])


def _size(value) -> int:
    return len(json.dumps(value, default=str))


def _cut(value, limit: int):
    if not isinstance(value, str) or len(value) <= limit:
        return value
    return value[:limit] + "..."


def _attribute(node, path: str, name: str):
    """The attribute of the first element at path (ElementPath: cheaper than compiling an XPath per call)."""
    found = node.find(path, NS)
    return found.get(name) if found is not None else None


def _text(node) -> str | None:
    if node is None:
        return None
    return _t("".join(node.itertext()).strip())


def _t(value) -> str | None:
    if value is None:
        return None
    value = str(value)
    return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "..."
