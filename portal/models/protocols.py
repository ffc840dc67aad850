"""What SSO login code reads of an account: the ORM models and the ACS's frozen snapshots (sso/acs_account.py)
both satisfy these, so the login is typed once. Here, apart from both model modules, so neither imports the other's."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class CertificateView(Protocol):
    id: int
    pem: str
    sha256_fingerprint: str


class SsoConfigView(Protocol):
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

    @property
    def certificates(self) -> Sequence[CertificateView]: ...


class AccountView(Protocol):
    """An account as SSO login code reads it: the ORM Account, or the ACS's snapshot of it."""
    id: int
    name: str
    domain: str
    default_role_id: int | None

    @property
    def sso_config(self) -> SsoConfigView | None: ...
