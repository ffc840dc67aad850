"""SSO settings services shared by the settings page and `flask sso-config`: one set of rules."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select

from portal import audit, sessions
from portal.audit import Event
from portal.config import is_loopback_host
from portal.directory.group_sync import GroupFilterError, compile_group_filter
from portal.directory.roles import account_admin_ids
from portal.errors import FieldErrors
from portal.extensions import db
from portal.models import Account, IdpCertificate, SsoConfig, SsoTestResult, User, domain_problem, utcnow
from portal.policy import may_break_glass
from portal.sso.setup.certs import EXPIRY_WARNING_DAYS, NOT_YET_VALID_TOLERANCE, CertificateError, CertificateInfo, \
    normalise_fingerprint, parse_certificate, stored_key_problem
from portal.sso import sp_keys
from portal.sso.setup import changes
from portal.sso.setup.metadata import parse_idp_metadata

MAX_ACTIVE_CERTIFICATES = 5  # rotation needs two; five leaves room for several IdP applications

LABELS = {
    "domain": "Custom domain",
    "idp_login_url": "IdP Login URL",
    "idp_issuer": "Identity Provider Issuer",
    "idp_certificate": "IdP Signature Certificate",
    "auto_create_users": "Auto-create users",
    "auto_create_groups": "Auto-create groups",
    "group_filter": "Group filter (regular expression)",
    "split_group_values": "Split comma- or semicolon-separated group values",
    "enabled": "SSO enabled",
    "require_sso": "Require SSO",
    "sign_requests": "Sign AuthnRequests",
    "want_encrypted_assertions": "Want encrypted assertions",
}
SCALARS = ("idp_login_url", "idp_issuer", "auto_create_users", "auto_create_groups", "group_filter",
           "split_group_values", "enabled", "require_sso", "sign_requests", "want_encrypted_assertions")


class SettingsError(FieldErrors):
    """One or more SSO settings were refused; errors maps each field to its message."""

    labels = LABELS


@dataclass
class SettingsChange:
    """What to change; None (or an empty list) leaves a setting as it is."""
    idp_login_url: str | None = None
    idp_issuer: str | None = None
    auto_create_users: bool | None = None
    auto_create_groups: bool | None = None
    group_filter: str | None = None
    split_group_values: bool | None = None
    enabled: bool | None = None
    require_sso: bool | None = None
    sign_requests: bool | None = None
    want_encrypted_assertions: bool | None = None
    replace_certificates: list[str | bytes] | None = None
    add_certificates: list[str | bytes] = field(default_factory=list)
    remove_fingerprints: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    changes: dict[str, tuple] = field(default_factory=dict)  # field -> (old, new)
    added: list[CertificateInfo] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # SHA-256 fingerprints
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes or self.added or self.removed)


def get_config(account: Account) -> SsoConfig:
    """The account's SsoConfig, created (disabled, empty) when it has none yet."""
    config = db.session.get(SsoConfig, account.id)
    if config is None:
        config = SsoConfig(account_id=account.id, enabled=False, version=1)
        db.session.add(config)
        db.session.flush()
    return config


def active_certificates(account: Account) -> list[IdpCertificate]:
    """The account's active IdP signing certificates, oldest first."""
    return list(db.session.scalars(select(IdpCertificate).where(IdpCertificate.account_id == account.id)
                                   .order_by(IdpCertificate.id)))


def check_login_url(value: str) -> str:
    """The IdP Login URL trimmed, or SettingsError: https, http only on loopback, no fragment."""
    url = (value or "").strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise SettingsError({"idp_login_url": f"'{url}' is not a valid URL."}) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError({"idp_login_url": "Enter the full URL, starting with https:// (Okta: Identity Provider "
                                              "Single Sign-On URL)."})
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise SettingsError({"idp_login_url": "The IdP Login URL must use https://; http:// is allowed only for "
                                              "localhost or 127.0.0.1 (local testing)."})
    if parts.fragment or any(c.isspace() for c in url) or len(url) > 2000:
        raise SettingsError({"idp_login_url": "The IdP Login URL must not contain spaces or a #fragment, and must "
                                              "be at most 2000 characters."})
    return url


def check_issuer(value: str) -> str:
    issuer = (value or "").strip()
    if any(c.isspace() for c in issuer) or len(issuer) > 1000:
        raise SettingsError({"idp_issuer": "The Identity Provider Issuer is one URI without spaces (Okta: "
                                           "http://www.okta.com/exk...), at most 1000 characters."})
    return issuer


def check_group_filter(value: str) -> str:
    """The RE2 pattern trimmed, or SettingsError with RE2's reason when it does not compile."""
    pattern = (value or "").strip()
    if len(pattern) > 1000:
        raise SettingsError({"group_filter": "The group filter is at most 1000 characters long."})
    try:
        compile_group_filter(pattern)
    except GroupFilterError as exc:
        raise SettingsError({"group_filter": f"This regular expression is not valid RE2 syntax: {exc}. "
                                             "(RE2 has no look-around or backreferences.)"}) from None
    return pattern


def missing_for_enable(account: Account, now: datetime | None = None) -> list[str]:
    """Labels of what SSO still needs before it can be enabled (empty when complete)."""
    config = get_config(account)
    missing = [LABELS[name] for name in ("idp_login_url", "idp_issuer") if not getattr(config, name)]
    certificates = active_certificates(account)
    if not certificates:
        missing.append(LABELS["idp_certificate"])
    elif all(c.not_after <= (now or utcnow()) for c in certificates):
        missing.append(f"{LABELS['idp_certificate']} (every active certificate has expired)")
    return missing


def apply(account: Account, change: SettingsChange, actor=None, now: datetime | None = None) -> Outcome:
    """Validate and apply change to account's SSO settings; audit and bump the version (caller commits)."""
    now = now or utcnow()
    config = get_config(account)
    was_required = bool(config.enabled and config.require_sso)
    values, errors = _validated(change, errors={})
    new_certs = _parsed_certificates(change, now, errors)
    removals = _fingerprints(account, change.remove_fingerprints, errors)
    _check_certificate_count(account, change, new_certs, removals, errors)
    if errors:
        raise SettingsError(errors)
    outcome = Outcome(changes=changes.set_fields(config, values))
    _apply_certificates(account, new_certs, removals, change.replace_certificates is not None, outcome, actor)
    if config.sign_requests or config.want_encrypted_assertions:
        sp_keys.ensure(account, actor=actor, now=now)  # either option needs the account's SP key pair
    db.session.flush()
    if config.enabled:
        missing = missing_for_enable(account, now)
        if missing:
            verb = "SSO cannot be enabled yet" if "enabled" in outcome.changes else \
                "SSO is enabled, so this would leave it incomplete (disable SSO first)"
            raise SettingsError({"enabled": f"{verb}. Missing: {', '.join(missing)}."})
    if config.require_sso and "require_sso" in outcome.changes:
        problem = require_sso_problem(account)
        if problem:
            raise SettingsError({"require_sso": problem})
    details = {}
    if config.enabled and config.require_sso and not was_required:
        # Require SSO applies from now on: password and remember-me sessions end on every server at their
        # next request, except the break-glass admins'.
        keep = {u.id for u in db.session.scalars(select(User).where(
            User.account_id == account.id, User.break_glass.is_(True))) if may_break_glass(u)}
        details["password_sessions_ended"] = sessions.revoke_password_sessions(account.id, keep_user_ids=keep)
    changes.record(account, config, outcome.changes, actor=actor, also_changed=outcome.changed, **details)
    outcome.warnings += expiry_warnings(account, now) if outcome.added else []
    return outcome


def require_sso_problem(account: Account) -> str | None:
    """Why turning on Require SSO could lock the account out (None when it is safe)."""
    config = get_config(account)
    if not config.enabled:
        return "Turn on SSO (and test it) before requiring it: with SSO off nobody could sign in."
    admins = account_admin_ids(account)
    proven = admins and db.session.scalar(select(func.count()).select_from(User).where(
        User.id.in_(admins), User.last_sso_login_at.is_not(None))) > 0
    tested = db.session.scalar(select(func.count()).select_from(SsoTestResult).where(
        SsoTestResult.account_id == account.id, SsoTestResult.outcome == "success")) > 0
    break_glass = admins and db.session.scalar(select(func.count()).select_from(User).where(
        User.id.in_(admins), User.break_glass.is_(True))) > 0
    if proven or tested or break_glass:
        return None
    return ("No Account admin has signed in with SSO or passed Test SSO yet, and no Account admin is marked "
            "break-glass, so requiring SSO could lock everyone out. Run Test SSO first, or mark a break-glass "
            "admin on the Users page.")


def import_metadata(account: Account, data: str | bytes, actor=None, now: datetime | None = None) -> Outcome:
    """Fill IdP Login URL, Issuer and certificates from the IdP's metadata XML (caller commits)."""
    metadata = parse_idp_metadata(data, now=now)
    try:
        check_login_url(metadata.sso_url)
    except SettingsError as exc:
        raise SettingsError({"metadata": f"The metadata's SingleSignOnService is unusable: "
                                         f"{exc.errors['idp_login_url']}"}) from None
    change = SettingsChange(idp_login_url=metadata.sso_url, idp_issuer=metadata.entity_id,
                            replace_certificates=[c.pem for c in metadata.certificates])
    outcome = apply(account, change, actor=actor, now=now)
    outcome.warnings = metadata.warnings + outcome.warnings
    audit.record(account, Event.SSO_METADATA_IMPORTED, actor=actor, subject=account.domain, entity_id=metadata.entity_id,
                 sso_url=metadata.sso_url, fingerprints=[c.sha256_fingerprint for c in metadata.certificates])
    return outcome


def expiry_warnings(account: Account, now: datetime | None = None) -> list[str]:
    """A line per active certificate that is weak, not yet valid, expired or expiring within 30 days."""
    now = now or utcnow()
    lines = []
    for cert in active_certificates(account):
        weak = stored_key_problem(cert.pem)
        if weak:
            lines.append(f"The IdP Signature Certificate {cert.subject} ({cert.sha256_fingerprint}) is too weak: "
                         f"{weak}. Have the IdP sign with a stronger key, add its certificate, then remove this one.")
        if cert.not_before > now + NOT_YET_VALID_TOLERANCE:
            lines.append(f"The IdP Signature Certificate {cert.subject} ({cert.sha256_fingerprint}) is not valid until "
                         f"{cert.not_before:%Y-%m-%d %H:%M} UTC; logins signed with it are not expected before then.")
        elif cert.not_after <= now:
            lines.append(f"The IdP Signature Certificate {cert.subject} ({cert.sha256_fingerprint}) expired on "
                         f"{cert.not_after:%Y-%m-%d}; remove it once the IdP signs with a current one.")
        elif cert.not_after <= now + timedelta(days=EXPIRY_WARNING_DAYS):
            days = (cert.not_after - now).days
            lines.append(f"The IdP Signature Certificate {cert.subject} ({cert.sha256_fingerprint}) expires on "
                         f"{cert.not_after:%Y-%m-%d} (in {days} days): add the IdP's new certificate, then remove "
                         "this one.")
    return lines


def health(account: Account, now: datetime | None = None) -> list[str]:
    """Problems an operator must act on (empty when healthy); used by `flask sso-config check`."""
    config = get_config(account)
    problems = []
    domain_issue = domain_problem(account.domain)
    if domain_issue:
        problems.append(f"The custom domain '{account.domain}' is invalid: {domain_issue}")
    if config.enabled:
        missing = missing_for_enable(account, now)
        if missing:
            problems.append(f"SSO is enabled but incomplete; missing: {', '.join(missing)}.")
    for name, check in (("idp_login_url", check_login_url), ("group_filter", check_group_filter)):
        if getattr(config, name):
            try:
                check(getattr(config, name))
            except SettingsError as exc:
                problems.append(f"{LABELS[name]}: {exc.errors[name]}")
    return problems + expiry_warnings(account, now) + sp_keys.problems(account, now)


def _validated(change: SettingsChange, errors: dict[str, str]) -> tuple[dict, dict]:
    values = {}
    checks = {"idp_login_url": check_login_url, "idp_issuer": check_issuer, "group_filter": check_group_filter}
    for name in SCALARS:
        value = getattr(change, name)
        if value is None:
            continue
        if name in checks:
            try:
                value = checks[name](value) if str(value).strip() else None
            except SettingsError as exc:
                errors.update(exc.errors)
                continue
        values[name] = value
    return values, errors


def _parsed_certificates(change: SettingsChange, now: datetime, errors: dict) -> list[CertificateInfo]:
    parsed = []
    for data in (change.replace_certificates or []) + list(change.add_certificates):
        try:
            parsed.append(parse_certificate(data, now=now))
        except CertificateError as exc:
            errors["idp_certificate"] = str(exc)
    return parsed


def _check_certificate_count(account: Account, change: SettingsChange, new_certs: list[CertificateInfo],
                             removals: list[IdpCertificate], errors: dict) -> None:
    # Every active certificate is tried on every login: a bounded list keeps that cost bounded.
    kept = set() if change.replace_certificates is not None else \
        {c.sha256_fingerprint for c in active_certificates(account)} - {r.sha256_fingerprint for r in removals}
    total = len(kept | {c.sha256_fingerprint for c in new_certs})
    if total > MAX_ACTIVE_CERTIFICATES:
        errors["idp_certificate"] = (f"An account has at most {MAX_ACTIVE_CERTIFICATES} active IdP Signature "
                                     "Certificates; remove one before adding another.")


def _fingerprints(account: Account, values: list[str], errors: dict) -> list[IdpCertificate]:
    rows = {c.sha256_fingerprint: c for c in active_certificates(account)}
    found = []
    for value in values:
        try:
            fp = normalise_fingerprint(value)
        except CertificateError as exc:
            errors["remove_certificate"] = str(exc)
            continue
        if fp not in rows:
            errors["remove_certificate"] = f"No active certificate has the SHA-256 fingerprint {fp}."
            continue
        found.append(rows[fp])
    return found


def certificate_row(account: Account, info: CertificateInfo) -> IdpCertificate:
    """The IdpCertificate row of a parsed certificate (not added to the session)."""
    return IdpCertificate(account_id=account.id, pem=info.pem, sha256_fingerprint=info.sha256_fingerprint,
                          sha1_fingerprint=info.sha1_fingerprint, subject=info.subject[:1000],
                          issuer=info.issuer[:1000], serial=info.serial[:100], not_before=info.not_before,
                          not_after=info.not_after)


def _apply_certificates(account, new_certs, removals, replace: bool, outcome: Outcome, actor) -> None:
    current = {c.sha256_fingerprint: c for c in active_certificates(account)}
    wanted = {c.sha256_fingerprint for c in new_certs}
    if replace:
        removals = [c for fp, c in current.items() if fp not in wanted]
    for row in removals:
        if row.sha256_fingerprint in outcome.removed:
            continue
        db.session.delete(row)
        current.pop(row.sha256_fingerprint, None)
        outcome.removed.append(row.sha256_fingerprint)
        audit.record(account, Event.SSO_CERTIFICATE_REMOVED, actor=actor, subject=row.sha256_fingerprint,
                     sha256_fingerprint=row.sha256_fingerprint, sha1_fingerprint=row.sha1_fingerprint,
                     certificate_subject=row.subject, not_after=row.not_after)
    for info in new_certs:
        if info.sha256_fingerprint in current:
            if not replace:
                outcome.warnings.append(f"The certificate {info.sha256_fingerprint} is already active.")
            continue
        current[info.sha256_fingerprint] = certificate_row(account, info)
        db.session.add(current[info.sha256_fingerprint])
        outcome.added.append(info)
        audit.record(account, Event.SSO_CERTIFICATE_ADDED, actor=actor, subject=info.sha256_fingerprint,
                     sha256_fingerprint=info.sha256_fingerprint, sha1_fingerprint=info.sha1_fingerprint,
                     certificate_subject=info.subject, not_after=info.not_after)
