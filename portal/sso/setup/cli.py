"""flask sso-config ...: the SSO settings for operators (same services and rules as the form)."""
from __future__ import annotations

import json
from pathlib import Path

import click

from portal.accounts import email_domains
from portal.accounts.dns_check import record_value
from portal.accounts.service import get_account
from portal.cli import PortalGroup, echo, run
from portal.models import iso
from portal.errors import ServiceError
from portal.sso import saml, sp_keys
from portal.sso.setup import attributes, metadata_url
from portal.sso.setup import settings as service
from portal.sso.setup.certs import MAX_CERTIFICATE_BYTES
from portal.sso.setup.metadata import MAX_METADATA_BYTES
from portal.sso.setup.metadata_cli import refresh_metadata
from portal.sso.urls import sp_urls

sso_config_cli = PortalGroup("sso-config", help="Show, change and check an account's SSO settings.")
sso_config_cli.add_command(refresh_metadata)


def _read(path: str, limit: int) -> bytes:
    """A file's bytes (at most limit + 1, so the services can refuse oversize input)."""
    try:
        with Path(path).open("rb") as fh:
            return fh.read(limit + 1)
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None


def describe(account) -> dict:
    """The account's SSO settings as `show --json` prints them."""
    config = service.get_config(account)
    urls = sp_urls(account.domain)
    return {
        "domain": account.domain, "enabled": config.enabled, "sp_entity_id": urls.entity_id,
        "acs_url": urls.acs_url, "sp_initiation_url": urls.initiation_url, "sp_metadata_url": urls.metadata_url,
        "idp_login_url": config.idp_login_url, "idp_issuer": config.idp_issuer,
        "auto_create_users": config.auto_create_users, "auto_create_groups": config.auto_create_groups,
        "group_filter": config.group_filter, "split_group_values": config.split_group_values,
        "require_sso": config.require_sso, "attribute_mapping": attributes.describe(config),
        "sign_requests": config.sign_requests, "want_encrypted_assertions": config.want_encrypted_assertions,
        "sp_certificates": [{"state": k.state, "sha256_fingerprint": k.sha256_fingerprint,
                             "not_before": iso(k.not_before), "not_after": iso(k.not_after)}
                            for _, k in sorted(sp_keys.keys(account).items())],
        "version": config.version, "missing_for_enable": service.missing_for_enable(account),
        "certificates": [{"subject": c.subject, "issuer": c.issuer, "serial": c.serial,
                          "sha256_fingerprint": c.sha256_fingerprint, "sha1_fingerprint": c.sha1_fingerprint,
                          "not_before": iso(c.not_before), "not_after": iso(c.not_after)}
                         for c in service.active_certificates(account)],
        "email_domains": [{"domain": d.domain, "verified": d.verified_at is not None, "token": d.token,
                           "record": record_value(d.token), "verified_at": iso(d.verified_at),
                           "last_checked_at": iso(d.last_checked_at),
                           "last_check_result": d.last_check_result}
                          for d in email_domains.list_domains(account)],
        **metadata_url.state(account),
    }


@sso_config_cli.command("show")
@click.argument("domain")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def show(domain, as_json):
    """Show the SSO settings of an account."""
    data = run(lambda: describe(get_account(domain)))
    if as_json:
        echo(json.dumps(data, indent=2))
        return
    for key in ("domain", "enabled", "sp_entity_id", "acs_url", "sp_initiation_url", "sp_metadata_url",
                "idp_login_url", "idp_issuer", "auto_create_users", "auto_create_groups", "group_filter",
                "split_group_values", "require_sso", "sign_requests", "want_encrypted_assertions"):
        value = data[key]
        echo(f"{key + ':':<21} {'-' if value in (None, '') else value}")
    for key, value in data["attribute_mapping"].items():
        echo(f"{key + ':':<21} {value}")
    if data["missing_for_enable"]:
        echo(f"{'missing for enable:':<21} {', '.join(data['missing_for_enable'])}")
    echo(f"certificates:         {len(data['certificates']) or '(none)'}")
    for cert in data["certificates"]:
        echo(f"  - {cert['subject']}  valid {cert['not_before']} to {cert['not_after']}")
        echo(f"    SHA-256 {cert['sha256_fingerprint']}")
        echo(f"    SHA-1   {cert['sha1_fingerprint']}")
    echo(f"email domains:        {len(data['email_domains']) or '(none)'}")
    for item in data["email_domains"]:
        echo(f"  - {item['domain']}  {'verified' if item['verified'] else 'not verified'}  "
             f"TXT {item['domain']} \"{item['record']}\"")
    for cert in data["sp_certificates"]:
        echo(f"SP certificate ({cert['state']}): {cert['sha256_fingerprint']}  valid to {cert['not_after']}")


@sso_config_cli.command("verify-domain")
@click.argument("domain")
@click.argument("email_domain")
def verify_domain(domain, email_domain):
    """Check EMAIL_DOMAIN's TXT record for the account (listing it first if needed); exit 1 unless verified."""
    row = run(lambda: email_domains.add_domain(get_account(domain), email_domain))  # committed before the lookup
    result = run(lambda: email_domains.check(get_account(domain), row.domain))
    if result.reason is not None:
        state = "still verified, but this check failed" if result.verified else "not verified"
        echo(f"{result.domain}: {state} ({result.reason.value}): {result.message}", err=True)
        echo(f"Publish: {result.domain} TXT \"{record_value(row.token)}\"", err=True)
        click.get_current_context().exit(1)
    echo(f"{result.domain}: verified for {domain}. {result.message}")


@sso_config_cli.command("set")
@click.argument("domain")
@click.option("--idp-login-url", help="IdP Login URL (Okta: Identity Provider Single Sign-On URL).")
@click.option("--idp-issuer", help="Identity Provider Issuer (the IdP's entity ID).")
@click.option("--idp-cert", "idp_cert", type=click.Path(dir_okay=False),
              help="Certificate file (PEM or DER); replaces the active certificate(s).")
@click.option("--add-idp-cert", "add_certs", multiple=True, type=click.Path(dir_okay=False),
              help="Certificate file to add next to the active one(s) (rotation).")
@click.option("--remove-idp-cert", "remove_certs", multiple=True, metavar="SHA256",
              help="SHA-256 fingerprint of an active certificate to remove (colons optional).")
@click.option("--auto-create-users/--no-auto-create-users", default=None)
@click.option("--auto-create-groups/--no-auto-create-groups", default=None)
@click.option("--group-filter", metavar="REGEX",
              help="Only groups whose whole name matches (RE2 syntax) become teams; '' for all.")
@click.option("--split-group-values/--no-split-group-values", default=None,
              help="Split comma- or semicolon-separated group values.")
@click.option("--enable/--disable", "enabled", default=None)
@click.option("--require-sso/--no-require-sso", "require_sso", default=None,
              help="People of the account cannot use a password (break-glass admins excepted).")
@click.option("--idp-metadata-url", metavar="URL",
              help="IdP Metadata URL, fetched now and by refresh-metadata; '' to stop using it.")
@click.option("--attribute-preset", type=click.Choice(sorted(attributes.PRESETS)),
              help="Attribute names of an IdP: okta, entra (Microsoft Entra ID) or google (Google Workspace).")
@click.option("--group-attribute", metavar="NAME", help="The attribute holding the groups (after the preset).")
@click.option("--first-name-attribute", metavar="NAME", help="The attribute holding the first name.")
@click.option("--last-name-attribute", metavar="NAME", help="The attribute holding the last name.")
@click.option("--sign-requests/--no-sign-requests", "sign_requests", default=None,
              help="Sign AuthnRequests with the account's SP key (generated when first needed).")
@click.option("--want-encrypted-assertions/--no-want-encrypted-assertions", "want_encrypted_assertions",
              default=None, help="Refuse assertions not encrypted for the account's SP certificate.")
def set_(domain, idp_login_url, idp_issuer, idp_cert, add_certs, remove_certs, auto_create_users,
         auto_create_groups, group_filter, split_group_values, enabled, require_sso, attribute_preset,
         group_attribute, first_name_attribute, last_name_attribute, sign_requests, want_encrypted_assertions,
         idp_metadata_url=None):
    """Change the SSO settings of an account."""
    change = service.SettingsChange(
        idp_login_url=idp_login_url, idp_issuer=idp_issuer, auto_create_users=auto_create_users,
        auto_create_groups=auto_create_groups, group_filter=group_filter, split_group_values=split_group_values,
        enabled=enabled, require_sso=require_sso, sign_requests=sign_requests,
        want_encrypted_assertions=want_encrypted_assertions,
        replace_certificates=[_read(idp_cert, MAX_CERTIFICATE_BYTES)] if idp_cert else None,
        add_certificates=[_read(p, MAX_CERTIFICATE_BYTES) for p in add_certs],
        remove_fingerprints=list(remove_certs))
    names = {"group_attribute": group_attribute, "first_name_attribute": first_name_attribute,
             "last_name_attribute": last_name_attribute}

    def both() -> service.Outcome:
        account = get_account(domain)
        mapped = attributes.apply(account, attribute_preset, **names)
        outcome = metadata_url.set_then_apply(account, idp_metadata_url, change)
        outcome.changes.update(mapped.changes)
        return outcome
    _report(domain, run(both))


@sso_config_cli.command("import-metadata")
@click.argument("domain")
@click.argument("file", type=click.Path(dir_okay=False))
def import_metadata(domain, file):
    """Fill IdP Login URL, Issuer and certificate(s) from the IdP's metadata XML file."""
    data = _read(file, MAX_METADATA_BYTES)
    outcome = run(lambda: service.import_metadata(get_account(domain), data))
    _report(domain, outcome)


@sso_config_cli.command("sp-metadata")
@click.argument("domain")
def sp_metadata(domain):
    """Print the SP metadata XML of an account."""
    echo(run(lambda: saml.sp_metadata(get_account(domain))))


@sso_config_cli.command("rotate-sp-key")
@click.argument("domain")
@click.option("--finish", is_flag=True, help="Drop the old SP key: the new one becomes the only one.")
def rotate_sp_key(domain, finish):
    """Generate the account's next SP key (both certificates in SP metadata), or --finish the rotation."""
    def rotate():
        account = get_account(domain)
        return sp_keys.finish_rotation(account) if finish else sp_keys.rotate(account)
    row = run(rotate)
    verb = "is now the only SP certificate" if finish else f"generated ({row.state})"
    echo(f"SP certificate {row.sha256_fingerprint} {verb}, valid to {row.not_after:%Y-%m-%d}.")
    if not finish and row.state == "next":
        echo("Both certificates are in the SP metadata now. Give the IdP the new one (Okta: Encryption "
             "Certificate), then run: flask sso-config rotate-sp-key " + domain + " --finish")


@sso_config_cli.command("sp-certificate")
@click.argument("domain")
@click.option("--next", "following", is_flag=True, help="The next certificate of a rotation under way.")
def sp_certificate(domain, following):
    """Print the account's SP certificate (PEM), e.g. for Okta's Encryption Certificate upload."""
    found = run(lambda: sp_keys.keys(get_account(domain)))
    row = found.get("next" if following else "current")
    if row is None:
        raise click.ClickException("No such SP certificate: turn on --sign-requests or --want-encrypted-assertions, "
                                   "or run rotate-sp-key.")
    echo(row.cert_pem.rstrip("\n"))


@sso_config_cli.command("check")
@click.argument("domain")
def check(domain):
    """Exit 1 and say why: SSO incomplete, a certificate weak, not yet valid or expiring soon, a bad domain."""
    try:
        account = get_account(domain)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
    problems = service.health(account) + metadata_url.problems(account)
    for note in metadata_url.notes(account):
        echo(f"NOTE: {note}")
    config = service.get_config(account)
    if problems:
        for problem in problems:
            echo(f"PROBLEM: {problem}", err=True)
        click.get_current_context().exit(1)
    certificates = service.active_certificates(account)
    if config.enabled:
        until = min(c.not_after for c in certificates)
        echo(f"OK: {account.domain}: SSO enabled, IdP {config.idp_issuer}, {len(certificates)} "
                   f"certificate(s), next expiry {until:%Y-%m-%d}.")
    else:
        echo(f"OK: {account.domain}: SSO disabled, {len(certificates)} certificate(s).")
    for state, key in sorted(sp_keys.keys(account).items()):
        echo(f"OK: SP certificate ({state}) {key.sha256_fingerprint} valid to {key.not_after:%Y-%m-%d}.")


def _report(domain: str, outcome: service.Outcome) -> None:
    if not outcome.changed:
        echo(f"No change to the SSO settings of {domain}.")
    for name, (old, new) in outcome.changes.items():
        label = service.LABELS.get(name) or attributes.LABELS.get(name, name)
        echo(f"{label}: {old if old not in (None, '') else '-'} → "
                   f"{new if new not in (None, '') else '-'}")
    for info in outcome.added:
        echo(f"Added certificate {info.sha256_fingerprint} ({info.subject}, valid to {info.not_after:%Y-%m-%d}).")
    for fingerprint in outcome.removed:
        echo(f"Removed certificate {fingerprint}.")
    for warning in outcome.warnings:
        echo(f"Warning: {warning}", err=True)


GROUPS = [sso_config_cli]
