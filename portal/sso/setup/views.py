"""Account settings → Security → Single Sign-On: the settings page (its sections post to it) and Test SSO."""
from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.core import UnboundField

from portal import confirmation
from portal.accounts import domains, email_domains
from portal.errors import FieldErrors, ServiceError
from portal.extensions import db
from portal.models import EmailDomain, IdpCertificate, utcnow
from portal.permissions import MANAGE_SSO, get_owned_or_404, require_permission
from portal.sso import sp_keys, trial
from portal.sso.setup import activity, attributes, diagnostics
from portal.sso.setup import metadata_url
from portal.sso.setup import confirmations as asks
from portal.sso.setup import settings as service
from portal.sso.setup.certs import EXPIRY_WARNING_DAYS, MAX_CERTIFICATE_BYTES
from portal.sso.setup.forms import (AttributeMappingForm, CertificateAddForm, CertificateRemoveForm, DomainForm,
                                    EmailDomainCheckForm, EnableForm, MetadataImportForm, MetadataRefreshForm,
                                    MetadataUrlForm, RequireSsoForm, SpKeyCreateForm, SpKeyOptionsForm,
                                    SsoSettingsForm, TestSsoForm, uploaded)
from portal.sso.setup.metadata import MAX_METADATA_BYTES
from portal.sso.setup.page import acting_admin, back_to, bp
from portal.sso.urls import sp_urls

# The IdP section's fields (its post without a section field still reaches it).
_IDP_FIELDS = frozenset(name for name, value in vars(SsoSettingsForm).items() if isinstance(value, UnboundField))


@bp.route("", methods=["GET", "POST"])
@require_permission(MANAGE_SSO)
def settings():
    """The page; every section posts here with a hidden section field, so a refusal re-renders at this URL."""
    account = current_user.account
    if request.method == "GET":
        return _page(account)
    section = request.form.get("section") or request.args.get("section")
    if section is None and _IDP_FIELDS.intersection(request.form.keys() | request.files.keys()):
        section = "idp"  # the page's first form had no section field; a post of its fields still means it
    handler = _SECTIONS.get(section or "")
    if handler is None:  # e.g. a post with no fields at all: never read as "empty every IdP setting"
        abort(400)
    return handler(account)


@bp.route("/domain", methods=["GET", "POST"], defaults={"old": "domain"})
@bp.route("/certificates", methods=["GET", "POST"], defaults={"old": "certificates"})
@bp.route("/metadata", methods=["GET", "POST"], defaults={"old": "metadata"})
@bp.route("/require-sso", methods=["GET", "POST"], defaults={"old": "require-sso"})
@bp.route("/metadata-url", methods=["GET", "POST"], defaults={"old": "metadata-url"})
@bp.route("/attribute-mapping", methods=["GET", "POST"], defaults={"old": "attribute-mapping"})
@bp.route("/sp-keys", methods=["GET", "POST"], defaults={"old": "sp-keys"})
@require_permission(MANAGE_SSO)
def old_section(old: str):
    """The sections' former URLs: a post is re-sent to the page (307 keeps its body), a GET shows the page."""
    if request.method == "POST":
        return redirect(url_for("sso_setup.settings", section=old.replace("-", "_")), 307)
    return _page(current_user.account)


def _idp(account):
    form = SsoSettingsForm()
    refusals: list[str] = []
    if form.validate_on_submit():
        # a blank paste is no certificate; an uploaded file is one even when empty (then refused as empty)
        pasted, upload = form.idp_certificate.data, uploaded(form.certificate_file, MAX_CERTIFICATE_BYTES)
        certificates = [c for c in (pasted if (pasted or "").strip() else None, upload) if c is not None]
        change = service.SettingsChange(
            idp_login_url=form.idp_login_url.data or "", idp_issuer=form.idp_issuer.data or "",
            auto_create_users=form.auto_create_users.data, auto_create_groups=form.auto_create_groups.data,
            group_filter=form.group_filter.data or "", split_group_values=form.split_group_values.data,
            add_certificates=certificates)
        if _save(lambda: service.apply(account, change, actor=acting_admin()), "idp", form, "idp_certificate",
                 refusals=refusals):
            return back_to("idp")
    return _refused(account, "idp", refusals, settings_form=form)


def _domain(account):
    form = DomainForm()
    refusals: list[str] = []
    if form.validate_on_submit():
        if _save(lambda: _change_domains(account, form), "domain", form, "domain"):
            return back_to("domain")
        if not form.domain.errors and form.email_domains.errors and form.domain.data.strip().lower() != account.domain:
            # All or nothing: say so, or the admin would think the new custom domain was kept.
            refusals.append(f"The custom domain was not changed either: it stays “{account.domain}” until both "
                            "fields are accepted.")
    return _refused(account, "domain", refusals, domain_form=form)


def _change_domains(account, form: DomainForm) -> service.Outcome:
    """Both parts of the domain form: both checked before either is written, so both errors show at once.

    Checking first also keeps the form all-or-nothing on SQLite, whose savepoints (in change_domain)
    commit when no transaction is open yet.
    """
    listed = (form.email_domains.data or "").splitlines()
    errors: dict[str, str] = {}
    for check in (lambda: domains.check_domain_change(account, form.domain.data),
                  lambda: email_domains.check_domains(listed)):
        try:
            check()
        except FieldErrors as exc:
            errors.update(exc.errors)
    if errors:
        raise FieldErrors(errors)
    warnings = domains.change_domain(account, form.domain.data, actor=acting_admin())
    email_domains.set_domains(account, listed, actor=acting_admin())
    return service.Outcome(changes={"domain": ()}, warnings=warnings)


@bp.post("/email-domains/<int:domain_id>/check")
@require_permission(MANAGE_SSO)
def check_email_domain(domain_id: int):
    """Check DNS: look up the email domain's TXT record now and show the result in its section."""
    row = get_owned_or_404(EmailDomain, domain_id)
    if EmailDomainCheckForm().validate_on_submit():
        result = email_domains.check(current_user.account, row.domain, actor=acting_admin())
        db.session.commit()  # the result and its audit event, verified or not
        flash(f"{result.domain}: {result.message}", "success:email_domains" if result.reason is None else "error:email_domains")
    else:
        flash("The form expired; press Check DNS again.", "error:email_domains")
    return back_to("email_domains")


def _add_certificate(account):
    form = CertificateAddForm()
    if form.validate_on_submit():
        data = uploaded(form.new_certificate_file, MAX_CERTIFICATE_BYTES) or form.new_certificate.data or ""
        change = service.SettingsChange(add_certificates=[data])
        if _save(lambda: service.apply(account, change, actor=acting_admin()), "certificates", form, "new_certificate",
                 success="Added the certificate."):
            return back_to("certificates")
    return _refused(account, "certificates", certificate_form=form)


def _require_sso(account):
    form = RequireSsoForm()
    if form.validate_on_submit() and form.require_sso.data and not service.get_config(account).require_sso \
            and not confirmation.confirmed():
        return _ask(asks.require_sso(account, diagnostics.break_glass_admins(account)), "Require SSO", "require-sso")
    if form.validate_on_submit():
        change = service.SettingsChange(require_sso=form.require_sso.data)
        if _save(lambda: service.apply(account, change, actor=acting_admin()), "require_sso", form, "require_sso"):
            return back_to("require_sso")
    return _refused(account, "require_sso", require_form=form)


def _import_metadata(account):
    form = MetadataImportForm()
    if form.validate_on_submit():
        data = uploaded(form.metadata_file, MAX_METADATA_BYTES) or form.metadata_xml.data or ""
        if _save(lambda: service.import_metadata(account, data, actor=acting_admin()), "metadata", form,
                 "metadata_xml"):
            return back_to("metadata")
    return _refused(account, "metadata", metadata_form=form)


def _enable(account):
    form = EnableForm()
    refusals: list[str] = []
    if form.validate_on_submit() and not form.enabled.data and service.get_config(account).enabled \
            and not confirmation.confirmed():
        return _ask(asks.turn_sso_off(account), "Turn SSO off", "step-5")
    if form.validate_on_submit():
        on = form.enabled.data
        change = service.SettingsChange(enabled=on)
        if _save(lambda: service.apply(account, change, actor=acting_admin()), "enable", refusals=refusals,
                 success="SSO is enabled: people can log in with SSO now." if on else
                 "SSO is disabled: nobody can log in with SSO until you enable it again."):
            return back_to("enable")
    return _refused(account, "enable", refusals, enable_form=form)


_SECTIONS = {"idp": _idp, "domain": _domain, "certificates": _add_certificate, "metadata": _import_metadata,
             "require_sso": _require_sso, "enable": _enable}


@bp.route("/certificates/<int:cert_id>/remove", methods=["GET", "POST"])
@require_permission(MANAGE_SSO)
def remove_certificate(cert_id: int):
    cert = get_owned_or_404(IdpCertificate, cert_id)
    if not confirmation.confirmed():
        remaining = len(service.active_certificates(current_user.account))
        return _ask(asks.remove_certificate(cert, remaining), "Remove certificate", "certificates")
    if CertificateRemoveForm().validate_on_submit():
        change = service.SettingsChange(remove_fingerprints=[cert.sha256_fingerprint])
        _save(lambda: service.apply(current_user.account, change, actor=acting_admin()), "certificates",
              success=f"Removed the certificate {cert.sha256_fingerprint}.")
    else:
        flash("The form expired; press Remove again.", "error:certificates")
    return back_to("certificates")


def _metadata_url(account):
    form = MetadataUrlForm()
    if form.validate_on_submit():
        url = form.idp_metadata_url.data or ""
        wait = metadata_url.page_fetch_wait(account) if metadata_url.will_fetch(url) else None
        if wait is not None:
            form.idp_metadata_url.errors = [metadata_url.too_many_fetches(wait)]
            page, _ = _refused(account, "metadata_url", metadata_url_form=form)
            return page, 429, {"Retry-After": str(wait)}
        if _save(lambda: metadata_url.set_url(account, url, actor=acting_admin()).outcome, "metadata_url", form,
                 "idp_metadata_url"):
            return back_to("metadata_url")
    return _refused(account, "metadata_url", metadata_url_form=form)


def _attribute_mapping(account):
    form = AttributeMappingForm()
    if form.validate_on_submit():
        # "Use preset" fills the three names from the preset; "Save attribute names" keeps them as typed.
        preset = form.attribute_preset.data if form.use_preset.data else None
        names = {} if form.use_preset.data else {name: form[name].data or "" for name in attributes.FIELDS}
        if _save(lambda: attributes.apply(account, preset, actor=acting_admin(), **names), "attribute_mapping", form,
                 "group_attribute"):
            return back_to("attribute_mapping")
    return _refused(account, "attribute_mapping", mapping_form=form)


def _sp_key_options(account):
    """Save Sign AuthnRequests / Want encrypted assertions (either generates the SP key pair when missing)."""
    form = SpKeyOptionsForm()
    if form.validate_on_submit():
        change = service.SettingsChange(sign_requests=form.sign_requests.data,
                                        want_encrypted_assertions=form.want_encrypted_assertions.data)
        if _save(lambda: service.apply(account, change, actor=acting_admin()), "sp_keys", form,
                 "want_encrypted_assertions"):
            return back_to("sp_keys")
    return _refused(account, "sp_keys", sp_key_form=form)


_SECTIONS.update({"metadata_url": _metadata_url, "attribute_mapping": _attribute_mapping, "sp_keys": _sp_key_options})


def _ask(question: tuple[str, list[str]], button: str, anchor: str = ""):
    """The confirmation step of a change: the posted form comes first to it, and confirming posts it again."""
    return confirmation.page(question[0], question[1], button,
                             url_for("sso_setup.settings") + (f"#{anchor}" if anchor else ""),
                             context="Account settings → Security → Single Sign-On", hidden=confirmation.carried(),
                             refused=False)


def _save(action, section: str, form=None, default_field: str = "", success: str | None = None,
          refusals: list[str] | None = None) -> bool:
    """Run one service call; commit and flash into the section, or roll back and put the errors on the form."""
    try:
        outcome = action()
    except ServiceError as exc:
        db.session.rollback()
        errors = dict(getattr(exc, "errors", None) or {default_field: str(exc)})
        for name, message in errors.items():
            if form is not None and name not in form and refusals is None:
                name = default_field
            if form is not None and name in form:
                form[name].errors = list(form[name].errors) + [message]
            elif refusals is not None:
                refusals.append(message)  # e.g. "SSO is enabled, so this would leave it incomplete"
            else:
                flash(message, f"error:{section}")
        return False
    db.session.commit()
    if success or outcome.changed:
        flash(success or "Saved.", f"success:{section}")
    else:
        flash("Nothing changed.", f"info:{section}")
    for warning in outcome.warnings:
        flash(warning, f"warning:{section}")
    return True


def _refused(account, section: str, refusals: list[str] = (), **forms):
    """The page again, at its own URL, with the refused section's form as submitted and its error summary."""
    return _page(account, refused=section, refusals=list(refusals), **forms), 422


def _page(account, refused: str = "", refusals: list[str] = (), **forms):
    """The settings page with any form that failed validation kept as submitted."""
    config = service.get_config(account)
    now = utcnow()
    forms.setdefault("settings_form", SsoSettingsForm(formdata=None, obj=config))
    listed = email_domains.list_domains(account)
    forms.setdefault("domain_form", DomainForm(formdata=None, domain=account.domain,
                                               email_domains="\n".join(d.domain for d in listed)))
    forms.setdefault("certificate_form", CertificateAddForm(formdata=None))
    forms.setdefault("metadata_form", MetadataImportForm(formdata=None))
    forms.setdefault("require_form", RequireSsoForm(formdata=None, obj=config))
    forms.setdefault("metadata_url_form", MetadataUrlForm(formdata=None, obj=config))
    forms.setdefault("mapping_form", AttributeMappingForm(formdata=None, obj=config,
                                                          attribute_preset=attributes.preset_of(config)))
    forms["mapping_preset"] = attributes.PRESETS.get(attributes.preset_of(config))
    forms.setdefault("sp_key_form", SpKeyOptionsForm(formdata=None, obj=config))
    forms.setdefault("enable_form", EnableForm(formdata=None))
    certificates = service.active_certificates(account)
    attempts = diagnostics.recent_attempts(account)
    last_test = trial.last_result(account)
    return render_template(
        "sso_setup/settings.html", account=account, config=config, urls=sp_urls(account.domain),
        certificates=certificates, missing=service.missing_for_enable(account, now),
        expiry_warnings=service.expiry_warnings(account, now), remove_form=CertificateRemoveForm(),
        now=now, warn_after=now + timedelta(days=EXPIRY_WARNING_DAYS), test_form=TestSsoForm(),
        attempts=attempts, last_test=last_test, refused=refused, refusals=list(refusals),
        steps=diagnostics.setup_steps(config, bool(certificates), last_test, attempts),
        logins=activity.daily_logins(account, now),
        break_glass_admins=diagnostics.break_glass_admins(account),
        break_glass_logins=diagnostics.break_glass_logins(account),
        configured_fingerprints={c.sha256_fingerprint for c in config.certificates},
        email_domain_rows=listed, email_domain_check_form=EmailDomainCheckForm(),
        metadata_refresh_form=MetadataRefreshForm(), pending_removal=metadata_url.pending_removal(account),
        sp_keys=sp_keys.keys(account), sp_key_create_form=SpKeyCreateForm(), **forms)

