"""The SP values of an account, always built from PORTAL_BASE_URL (never the Host header)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app


@dataclass(frozen=True)
class SpUrls:
    entity_id: str
    acs_url: str
    initiation_url: str
    metadata_url: str


def sp_urls(domain: str) -> SpUrls:
    """SP Entity ID, ACS URL, SP Initiation URL and metadata URL for a custom domain."""
    base = f"{current_app.config['BASE_URL']}/login/saml/{domain}"
    return SpUrls(entity_id=base, acs_url=f"{base}/callback", initiation_url=base, metadata_url=f"{base}/metadata")
