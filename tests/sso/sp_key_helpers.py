"""Helpers of the SP key tests (signed requests, encrypted assertions, an unreadable key)."""
from __future__ import annotations

from lxml import etree

from portal.extensions import db
from portal.models import SP_KEY_CURRENT
from portal.sso import sp_keys
from portal.sso.setup import settings as sso_settings

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"


def turn_on(account, **options) -> None:
    """Apply SSO settings (e.g. sign_requests=True) through the settings service and commit."""
    sso_settings.apply(account, sso_settings.SettingsChange(**options))
    db.session.commit()


def current_cert(account, state: str = SP_KEY_CURRENT) -> str:
    """The PEM certificate of the account's SP key in state."""
    return sp_keys.keys(account)[state].cert_pem


def metadata_certs(xml: str) -> dict[str, set[str]]:
    """use (signing/encryption) -> the certificate bodies the SP metadata publishes for it."""
    root = etree.fromstring(xml.encode())
    found: dict[str, set[str]] = {}
    for descriptor in root.iter(f"{{{MD}}}KeyDescriptor"):
        body = "".join(descriptor.find(f".//{{{DS}}}X509Certificate").text.split())
        found.setdefault(descriptor.get("use"), set()).add(body)
    return found


def body(pem: str) -> str:
    """A PEM's base64 body on one line."""
    return "".join(line for line in pem.strip().splitlines() if "-----" not in line)
