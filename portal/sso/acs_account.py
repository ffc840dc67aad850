"""What the Assertion Consumer Service reads about an account: one Core query, plain frozen values.

The ACS runs on every SSO login and only reads the account, its SSO settings and its certificates.
Loading them as ORM objects (identity map, joined eager load, change tracking) cost more than
validating the response, so the ACS gets read-only snapshots instead. The login code is typed against
the AccountView protocol, which both the ORM Account and the snapshot satisfy. Each snapshot's fields
are its column list: the query selects exactly the dataclass's fields, and tests/sso/test_acs_account.py
fails when a model column appears that the snapshot neither mirrors nor lists in NOT_MIRRORED.
Nothing is cached here: every login reads the current row, so a change is seen at once.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

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
    group_attribute: str
    first_name_attribute: str
    last_name_attribute: str
    sign_requests: bool
    want_encrypted_assertions: bool
    version: int
    certificates: tuple[AcsCertificate, ...] = ()


@dataclass(frozen=True)
class AcsAccount:
    id: int
    name: str
    domain: str
    default_role_id: int | None = None  # granted to a user that SSO auto-creates
    sso_config: AcsSsoConfig | None = None


# Model columns the ACS never reads, each a decision: a new column must be added to a snapshot or here.
NOT_MIRRORED = {
    Account: {"created_at"},
    # The metadata URL's state matters to its refresh, not to a login: a refresh changes certificates and IdP
    # values through the settings service, which the snapshot reads like any other change.
    SsoConfig: {"account_id", "updated_at", "require_sso", "idp_metadata_url", "metadata_refreshed_at",
                "metadata_refresh_error", "metadata_refresh_reason"},
    IdpCertificate: {"account_id", "sha1_fingerprint", "subject", "issuer", "serial", "not_before", "not_after",
                     "created_at", "last_seen_in_metadata_at"},
}
SNAPSHOTS = {Account: AcsAccount, SsoConfig: AcsSsoConfig, IdpCertificate: AcsCertificate}


def columns(snapshot: type) -> tuple[str, ...]:
    """The model columns a snapshot mirrors: its fields, less the nested snapshots."""
    return tuple(f.name for f in fields(snapshot) if f.name not in ("sso_config", "certificates"))


_ACCOUNT, _CONFIG, _CERT = columns(AcsAccount), columns(AcsSsoConfig), columns(AcsCertificate)
_account, _config, _cert = Account.__table__.c, SsoConfig.__table__.c, IdpCertificate.__table__.c
_QUERY = (
    select(*(_account[n] for n in _ACCOUNT), _config.account_id.label("config_id"),
           *(_config[n].label(f"config_{n}") for n in _CONFIG), *(_cert[n].label(f"cert_{n}") for n in _CERT))
    .select_from(Account.__table__.outerjoin(SsoConfig.__table__, _config.account_id == _account.id)
                 .outerjoin(IdpCertificate.__table__, _cert.account_id == _config.account_id))
    .where(_account.domain == bindparam("domain"))
    .order_by(_cert.id)
)


# Positions of each snapshot's columns in a row of _QUERY (rows are read by position: cheaper than by name).
_A = len(_ACCOUNT)
_C = _A + 1 + len(_CONFIG)


def load(domain: str) -> AcsAccount | None:
    """The account of a custom domain with its SSO settings and certificates (None when unknown)."""
    rows = db.session.connection().execute(_QUERY, {"domain": normalise_domain(domain)}).all()
    if not rows:
        return None
    first = rows[0]
    config = None
    if first[_A] is not None:  # config_id
        certificates = tuple(AcsCertificate(*row[_C:]) for row in rows if row[_C] is not None)
        config = AcsSsoConfig(*first[_A + 1:_C], certificates=certificates)
    return AcsAccount(*first[:_A], sso_config=config)
