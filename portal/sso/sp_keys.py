"""The account's SP key pair: generated here (RSA-3072, self-signed), private key encrypted at rest, rotated.

The private key is stored only as a Fernet token under a key derived with HKDF-SHA256 from
PORTAL_KEY_ENCRYPTION_KEY when set, else from PORTAL_SECRET_KEY. Tokens written under PORTAL_SECRET_KEY still
open after PORTAL_KEY_ENCRYPTION_KEY is introduced (rotate the SP key to re-encrypt under the new one).
"""
from __future__ import annotations

import base64
import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID
from flask import current_app
from sqlalchemy import bindparam, select

from portal import audit
from portal.audit import Event
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import SP_KEY_CURRENT, SP_KEY_NEXT, AccountView, SpKey, SsoConfig, utcnow
from portal.sso.setup import changes
from portal.sso.setup.certs import fingerprint

KEY_BITS = 3072
VALID_DAYS = 3650
EXPIRY_WARNING_DAYS = 60  # an IdP needs the next certificate uploaded before the current one expires
_HKDF_INFO = b"portal sp private key v1"
OPENED_CACHE_SIZE = 1024  # decrypted tokens kept per process (Fernet's HMAC and AES on every login add up)
_opened: OrderedDict[tuple, str | None] = OrderedDict()
_opened_lock = threading.Lock()
_sp_key = SpKey.__table__.c
_MATERIAL = select(_sp_key.state, _sp_key.cert_pem, _sp_key.private_key_encrypted).where(
    _sp_key.account_id == bindparam("account_id"))


class SpKeyError(ServiceError):
    """An SP key operation was refused; the message says why."""


@dataclass(frozen=True)
class SpKeyMaterial:
    """What python3-saml needs: the current certificate and key, and the next ones during rotation.

    A key is None when it cannot be decrypted (PORTAL_KEY_ENCRYPTION_KEY / PORTAL_SECRET_KEY changed or lost).
    """
    cert_pem: str
    key_pem: str | None
    next_cert_pem: str | None = None
    next_key_pem: str | None = None


def _fernet_key(secret: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret.encode())
    return base64.urlsafe_b64encode(derived)


def _fernet() -> MultiFernet:
    """Encrypts under the first key; decrypts under either (PORTAL_SECRET_KEY stays readable after a switch)."""
    secrets = [current_app.config.get("KEY_ENCRYPTION_KEY"), current_app.config["SECRET_KEY"]]
    return MultiFernet([Fernet(_fernet_key(str(s))) for s in secrets if s])


def encrypt_private_key(pem: str) -> str:
    """The Fernet token stored for a private key PEM."""
    return _fernet().encrypt(pem.encode()).decode()


def decrypt_private_key(token: str) -> str | None:
    """The private key PEM of a stored token; None when no configured key opens it."""
    secrets = (current_app.config.get("KEY_ENCRYPTION_KEY"), current_app.config["SECRET_KEY"])
    cache_key = (token, secrets)
    with _opened_lock:
        if cache_key in _opened:
            _opened.move_to_end(cache_key)
            return _opened[cache_key]
    try:
        pem = _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        pem = None
    with _opened_lock:  # the same key is in python3-saml's cached settings anyway
        _opened[cache_key] = pem
        while len(_opened) > OPENED_CACHE_SIZE:
            _opened.popitem(last=False)
    return pem


def clear_cache() -> None:
    """Forget the decrypted private keys of this process."""
    with _opened_lock:
        _opened.clear()


def generate_key_pair(domain: str, now: datetime | None = None) -> tuple[str, str, x509.Certificate]:
    """A new RSA-3072 key and a self-signed certificate valid VALID_DAYS: (cert PEM, key PEM, certificate)."""
    now = (now or utcnow()).replace(tzinfo=dt.timezone.utc)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain[:64]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "portal SAML service provider")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=VALID_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem, cert


def keys(account: AccountView) -> dict[str, SpKey]:
    """The account's SP keys by state ("current", and "next" during a rotation)."""
    return {k.state: k for k in db.session.scalars(select(SpKey).where(SpKey.account_id == account.id))}


def material(account: AccountView) -> SpKeyMaterial | None:
    """The account's SP certificates and decrypted keys for python3-saml (None when it has no key pair).

    Read on every login that needs them (one prebuilt Core select, like the ACS's account snapshot).
    """
    rows = db.session.connection().execute(_MATERIAL, {"account_id": account.id}).all()
    found = {row.state: row for row in rows}
    current = found.get(SP_KEY_CURRENT)
    if current is None:
        return None
    following = found.get(SP_KEY_NEXT)
    return SpKeyMaterial(cert_pem=current.cert_pem, key_pem=decrypt_private_key(current.private_key_encrypted),
                         next_cert_pem=following.cert_pem if following else None,
                         next_key_pem=decrypt_private_key(following.private_key_encrypted) if following else None)


def _new_row(account: AccountView, state: str, now: datetime) -> SpKey:
    cert_pem, key_pem, cert = generate_key_pair(account.domain, now)
    row = SpKey(account_id=account.id, state=state, cert_pem=cert_pem,
                private_key_encrypted=encrypt_private_key(key_pem),
                sha256_fingerprint=fingerprint(cert.public_bytes(serialization.Encoding.DER), hashes.SHA256()),
                not_before=cert.not_valid_before_utc.replace(tzinfo=None),
                not_after=cert.not_valid_after_utc.replace(tzinfo=None), created_at=now)
    db.session.add(row)
    db.session.flush()
    return row


def ensure(account: AccountView, actor=None, now: datetime | None = None) -> SpKey:
    """The account's current SP key, generated (and audited) when it has none yet (caller commits)."""
    current = keys(account).get(SP_KEY_CURRENT)
    if current is not None:
        return current
    row = _new_row(account, SP_KEY_CURRENT, now or utcnow())
    audit.record(account, Event.SSO_SP_KEY_CREATED, actor=actor, subject=row.sha256_fingerprint,
                 sha256_fingerprint=row.sha256_fingerprint, not_after=row.not_after)
    _bump(account)
    return row


def rotate(account: AccountView, actor=None, now: datetime | None = None) -> SpKey:
    """Generate the next SP key; metadata publishes both certificates until finish_rotation (caller commits).

    A next key whose private key no configured key decrypts is replaced (audited as replaced_unreadable).
    """
    found = keys(account)
    if SP_KEY_CURRENT not in found:
        return ensure(account, actor, now)
    replaced = found.get(SP_KEY_NEXT)
    if replaced is not None and decrypt_private_key(replaced.private_key_encrypted) is not None:
        raise SpKeyError(f"A rotation is already under way (next certificate {replaced.sha256_fingerprint})."
                         " Give the IdP the new certificate, then finish it with --finish.")
    if replaced is not None:  # stored under another PORTAL_KEY_ENCRYPTION_KEY: it can never sign nor decrypt
        db.session.delete(replaced)
        db.session.flush()  # the unique (account, state) key must be free for the new next key
    row = _new_row(account, SP_KEY_NEXT, now or utcnow())
    audit.record(account, Event.SSO_SP_KEY_ROTATION_STARTED, actor=actor, subject=row.sha256_fingerprint,
                 sha256_fingerprint=row.sha256_fingerprint, current=found[SP_KEY_CURRENT].sha256_fingerprint,
                 **({"replaced_unreadable": replaced.sha256_fingerprint} if replaced is not None else {}))
    _bump(account)
    return row


def finish_rotation(account: AccountView, actor=None) -> SpKey:
    """Make the next SP key the only one: the old certificate leaves the SP metadata (caller commits)."""
    found = keys(account)
    if SP_KEY_NEXT not in found:
        raise SpKeyError("No SP key rotation is under way: start one with rotate-sp-key first.")
    old, new = found[SP_KEY_CURRENT], found[SP_KEY_NEXT]
    if decrypt_private_key(new.private_key_encrypted) is None:
        raise SpKeyError(f"The next SP certificate {new.sha256_fingerprint} has a private key that neither "
                         "PORTAL_KEY_ENCRYPTION_KEY nor PORTAL_SECRET_KEY decrypts (it was stored under another key), "
                         "so it cannot become the only SP key. Restore the previous PORTAL_KEY_ENCRYPTION_KEY on every "
                         "server, or run rotate-sp-key again to replace it with a new key pair, give the IdP the new "
                         "certificate, then --finish.")
    db.session.delete(old)
    db.session.flush()  # the unique (account, state) key must be free before the next key takes "current"
    new.state = SP_KEY_CURRENT
    db.session.flush()
    audit.record(account, Event.SSO_SP_KEY_ROTATION_FINISHED, actor=actor, subject=new.sha256_fingerprint,
                 sha256_fingerprint=new.sha256_fingerprint, removed=old.sha256_fingerprint)
    _bump(account)
    return new


def _bump(account: AccountView) -> None:
    # Per-process python3-saml settings are keyed on the SSO settings' version (the key is audited by its caller).
    changes.record(account, db.session.get(SsoConfig, account.id), {}, also_changed=True)


def problems(account: AccountView, now: datetime | None = None) -> list[str]:
    """What `sso-config check` must report about the SP keys: unreadable, expired or expiring soon."""
    now = now or utcnow()
    lines = []
    for state, row in sorted(keys(account).items()):
        label = "SP certificate" if state == SP_KEY_CURRENT else "next SP certificate"
        if decrypt_private_key(row.private_key_encrypted) is None:
            lines.append(f"The {label} {row.sha256_fingerprint} has a private key that neither "
                         "PORTAL_KEY_ENCRYPTION_KEY nor PORTAL_SECRET_KEY opens: restore the old key, or run "
                         "rotate-sp-key and --finish and give the IdP the new SP certificate.")
        if row.not_after <= now:
            lines.append(f"The {label} {row.sha256_fingerprint} expired on {row.not_after:%Y-%m-%d}: "
                         "run rotate-sp-key.")
        elif state == SP_KEY_CURRENT and row.not_after <= now + timedelta(days=EXPIRY_WARNING_DAYS):
            lines.append(f"The {label} {row.sha256_fingerprint} expires on {row.not_after:%Y-%m-%d} (in "
                         f"{(row.not_after - now).days} days): run rotate-sp-key, give the IdP the new certificate, "
                         "then --finish.")
    return lines
