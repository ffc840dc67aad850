"""What the Assertion Consumer Service reads about an account: one Core query, plain frozen values.

The ACS runs on every SSO login and only reads the account, its SSO settings and its certificates.
Loading them as ORM objects (identity map, joined eager load, change tracking) cost more than
validating the response, so the ACS gets read-only snapshots instead. They carry the attribute
names of Account, SsoConfig and IdpCertificate that the login code reads, so the same code accepts
either. Nothing is cached here: every login reads the current row, so a change is seen at once.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select

from portal.extensions import db
from portal.models import Account, IdpCertificate, SsoConfig, normalise_domain


@dataclass(frozen=True)
class AcsCertificate:
    id: int
    pem: str
    sha256_fingerprint: str


@dataclass(frozen=True)
class AcsSsoConfig:
    enabled: bool
    idp_login_url: str | None
    idp_issuer: str | None
    auto_create_users: bool
    auto_create_groups: bool
    group_filter: str | None
    split_group_values: bool
    version: int
    certificates: tuple[AcsCertificate, ...]


@dataclass(frozen=True)
class AcsAccount:
    id: int
    name: str
    domain: str
    sso_config: AcsSsoConfig | None


_account, _config, _cert = Account.__table__.c, SsoConfig.__table__.c, IdpCertificate.__table__.c
_QUERY = (
    select(_account.id, _account.name, _account.domain,
           _config.account_id.label("config_id"), _config.enabled, _config.idp_login_url, _config.idp_issuer,
           _config.auto_create_users, _config.auto_create_groups, _config.group_filter,
           _config.split_group_values, _config.version,
           _cert.id.label("cert_id"), _cert.pem, _cert.sha256_fingerprint)
    .select_from(Account.__table__.outerjoin(SsoConfig.__table__, _config.account_id == _account.id)
                 .outerjoin(IdpCertificate.__table__, _cert.account_id == _config.account_id))
    .where(_account.domain == bindparam("domain"))
    .order_by(_cert.id)
)


def load(domain: str) -> AcsAccount | None:
    """The account of a custom domain with its SSO settings and certificates (None when unknown)."""
    rows = db.session.connection().execute(_QUERY, {"domain": normalise_domain(domain)}).all()
    if not rows:
        return None
    first = rows[0]
    config = None
    if first.config_id is not None:
        certificates = tuple(AcsCertificate(id=r.cert_id, pem=r.pem, sha256_fingerprint=r.sha256_fingerprint)
                             for r in rows if r.cert_id is not None)
        config = AcsSsoConfig(
            enabled=bool(first.enabled), idp_login_url=first.idp_login_url, idp_issuer=first.idp_issuer,
            auto_create_users=bool(first.auto_create_users), auto_create_groups=bool(first.auto_create_groups),
            group_filter=first.group_filter, split_group_values=bool(first.split_group_values),
            version=first.version or 1, certificates=certificates)
    return AcsAccount(id=first.id, name=first.name, domain=first.domain, sso_config=config)
