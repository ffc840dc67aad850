"""Account settings → Security → Single Sign-On: the settings forms and Test SSO with its result page."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.accounts import domains, email_domains
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import EmailDomain, IdpCertificate, utcnow
from portal.permissions import MANAGE_SSO, get_owned_or_404, require_permission
from portal.sso import service as login_service
from portal.sso import binding, sp_keys, trial
from portal.sso.setup import attributes, diagnostics
from portal.sso.setup import metadata_url
from portal.sso.setup import settings as service
from portal.sso.setup.certs import EXPIRY_WARNING_DAYS, MAX_CERTIFICATE_BYTES
from portal.sso.setup.forms import (AttributeMappingForm, CertificateAddForm, CertificateRemoveForm, DomainForm,
                                    EmailDomainCheckForm, MetadataImportForm, MetadataRefreshForm, MetadataUrlForm,
                                    RequireSsoForm, SpKeyCreateForm, SpKeyOptionsForm, SsoSettingsForm, TestSsoForm,
                                    uploaded)
from portal.sso.setup.metadata import MAX_METADATA_BYTES
from portal.sso.setup.metadata_cli import refresh_and_record
from portal.sso.urls import sp_urls

bp = Blueprint("sso_setup", __name__, url_prefix="/settings/security/sso")


@bp.route("", methods=["GET", "POST"])
@require_permission(MANAGE_SSO)
def settings():
    account = current_user.account
    form = SsoSettingsForm(obj=service.get_config(account))
    if form.validate_on_submit():
        certificates = [c for c in (form.idp_certificate.data, uploaded(form.certificate_file, MAX_CERTIFICATE_BYTES))
                        if c and (not isinstance(c, str) or c.strip())]
        change = service.SettingsChange(
            idp_login_url=form.idp_login_url.data or "", idp_issuer=form.idp_issuer.data or "",
            auto_create_users=form.auto_create_users.data, auto_create_groups=form.auto_create_groups.data,
            group_filter=form.group_filter.data or "", split_group_values=form.split_group_values.data,
            enabled=form.enabled.data, add_certificates=certificates)
        if _save(lambda: service.apply(account, change, actor=_actor()), form, "idp_certificate"):
            return redirect(url_for("sso_setup.settings"))
    return _page(account, settings_form=form)


@bp.post("/domain")
@require_permission(MANAGE_SSO)
def settings_domain():
    account = current_user.account
    form = DomainForm()
    if form.validate_on_submit():
        def change():
            warnings = domains.change_domain(account, form.domain.data, actor=_actor())
            email_domains.set_domains(account, (form.email_domains.data or "").splitlines(), actor=_actor())
            return service.Outcome(changes={"domain": ()}, warnings=warnings)
        if _save(change, form, "domain"):
            return redirect(url_for("sso_setup.settings"))
    return _page(account, domain_form=form)


@bp.post("/email-domains/<int:domain_id>/check")
@require_permission(MANAGE_SSO)
def check_email_domain(domain_id: int):
    """Check DNS: look up the email domain's TXT record now and show the result in its section."""
    row = get_owned_or_404(EmailDomain, domain_id)
    if EmailDomainCheckForm().validate_on_submit():
        result = email_domains.check(current_user.account, row.domain, actor=_actor())
        db.session.commit()  # the result and its audit event, verified or not
        flash(f"{result.domain}: {result.message}", "success" if result.reason is None else "error")
    else:
        flash("The form expired; press Check DNS again.", "error")
    return redirect(url_for("sso_setup.settings") + "#email-domains")


@bp.post("/certificates")
@require_permission(MANAGE_SSO)
def add_certificate():
    account = current_user.account
    form = CertificateAddForm()
    if form.validate_on_submit():
        data = uploaded(form.new_certificate_file, MAX_CERTIFICATE_BYTES) or form.new_certificate.data or ""
        change = service.SettingsChange(add_certificates=[data])
        if _save(lambda: service.apply(account, change, actor=_actor()), form, "new_certificate"):
            return redirect(url_for("sso_setup.settings") + "#certificates")
    return _page(account, certificate_form=form)


@bp.post("/certificates/<int:cert_id>/remove")
@require_permission(MANAGE_SSO)
def remove_certificate(cert_id: int):
    cert = get_owned_or_404(IdpCertificate, cert_id)
    if CertificateRemoveForm().validate_on_submit():
        change = service.SettingsChange(remove_fingerprints=[cert.sha256_fingerprint])
        _save(lambda: service.apply(current_user.account, change, actor=_actor()),
              success=f"Removed the certificate {cert.sha256_fingerprint}.")
    return redirect(url_for("sso_setup.settings") + "#certificates")


@bp.post("/require-sso")
@require_permission(MANAGE_SSO)
def require_sso():
    account = current_user.account
    form = RequireSsoForm()
    if form.validate_on_submit():
        change = service.SettingsChange(require_sso=form.require_sso.data)
        if _save(lambda: service.apply(account, change, actor=_actor()), form, "require_sso"):
            return redirect(url_for("sso_setup.settings") + "#require-sso")
    return _page(account, require_form=form)


@bp.post("/metadata")
@require_permission(MANAGE_SSO)
def import_metadata():
    account = current_user.account
    form = MetadataImportForm()
    if form.validate_on_submit():
        data = uploaded(form.metadata_file, MAX_METADATA_BYTES) or form.metadata_xml.data or ""
        if _save(lambda: service.import_metadata(account, data, actor=_actor()), form, "metadata_xml"):
            return redirect(url_for("sso_setup.settings"))
    return _page(account, metadata_form=form)


@bp.post("/metadata-url")
@require_permission(MANAGE_SSO)
def save_metadata_url():
    account = current_user.account
    form = MetadataUrlForm()
    if form.validate_on_submit():
        url = form.idp_metadata_url.data or ""
        if _save(lambda: metadata_url.set_url(account, url, actor=_actor()).outcome, form, "idp_metadata_url"):
            return redirect(url_for("sso_setup.settings") + "#metadata-url")
    return _page(account, metadata_url_form=form)


@bp.post("/metadata-url/refresh")
@require_permission(MANAGE_SSO)
def refresh_metadata_url():
    account = current_user.account
    if not MetadataRefreshForm().validate_on_submit():
        flash("The form expired; press Refresh now again.", "error")
    elif not service.get_config(account).idp_metadata_url:
        flash("Save a Metadata URL first.", "error")
    else:
        result = refresh_and_record(account, actor=_actor())
        if isinstance(result, metadata_url.RefreshError):
            flash(f"The refresh failed: {result}", "error")
        else:
            flash("Refreshed from the Metadata URL." if result.changed else
                  "Refreshed from the Metadata URL: nothing changed.", "success")
            for warning in result.outcome.warnings:
                flash(warning, "warning")
    return redirect(url_for("sso_setup.settings") + "#metadata-url")


@bp.post("/attribute-mapping")
@require_permission(MANAGE_SSO)
def attribute_mapping():
    account = current_user.account
    form = AttributeMappingForm()
    if form.validate_on_submit():
        # "Use preset" fills the three names from the preset; "Save attribute names" keeps them as typed.
        preset = form.attribute_preset.data if form.use_preset.data else None
        names = {} if form.use_preset.data else {name: form[name].data or "" for name in attributes.FIELDS}
        if _save(lambda: attributes.apply(account, preset, actor=_actor(), **names), form, "group_attribute"):
            return redirect(url_for("sso_setup.settings") + "#attribute-mapping")
    return _page(account, mapping_form=form)


def _actor():
    return current_user._get_current_object()


def _save(action, form=None, default_field: str = "", success: str | None = None) -> bool:
    """Run one service call; commit and flash on success, else roll back and put errors on the form (or flash)."""
    try:
        outcome = action()
    except ServiceError as exc:
        db.session.rollback()
        if form is None:
            flash(str(exc), "error")
            return False
        errors = dict(getattr(exc, "errors", None) or {default_field: str(exc)})
        if "idp_certificate" in errors and not hasattr(form, "idp_certificate"):
            errors[default_field] = errors.pop("idp_certificate")
        for name, message in errors.items():
            target = form[name] if name in form else form[default_field]
            target.errors = list(target.errors) + [message]
        return False
    db.session.commit()
    if success or outcome.changed:
        flash(success or "Saved.", "success")
    else:
        flash("Nothing changed.", "info")
    for warning in outcome.warnings:
        flash(warning, "warning")
    return True


def _page(account, **forms):
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
    return render_template(
        "sso_setup/settings.html", account=account, config=config, urls=sp_urls(account.domain),
        certificates=service.active_certificates(account), missing=service.missing_for_enable(account, now),
        expiry_warnings=service.expiry_warnings(account, now), remove_form=CertificateRemoveForm(),
        now=now, warn_after=now + timedelta(days=EXPIRY_WARNING_DAYS), test_form=TestSsoForm(),
        attempts=diagnostics.recent_attempts(account), last_test=trial.last_result(account),
        break_glass_admins=diagnostics.break_glass_admins(account),
        break_glass_logins=diagnostics.break_glass_logins(account),
        configured_fingerprints={c.sha256_fingerprint for c in config.certificates},
        email_domain_rows=listed, email_domain_check_form=EmailDomainCheckForm(),
        metadata_refresh_form=MetadataRefreshForm(), pending_removal=metadata_url.pending_removal(account),
        sp_keys=sp_keys.keys(account), sp_key_create_form=SpKeyCreateForm(), **forms)


@bp.post("/test")
@require_permission(MANAGE_SSO)
def test_sso():
    """Send the admin to the IdP with an AuthnRequest marked as a test (SSO may be off)."""
    account = current_user.account
    if not TestSsoForm().validate_on_submit():
        flash("The form expired; press Test SSO again.", "error")
        return redirect(url_for("sso_setup.settings") + "#test-sso")
    try:
        authn = login_service.start_login(account, test_by=_actor())
    except login_service.SsoError:
        db.session.rollback()
        missing = ", ".join(service.missing_for_enable(account)) or "the IdP settings"
        flash(f"Test SSO needs the IdP settings first. Fill in: {missing}.", "error")
        return redirect(url_for("sso_setup.settings") + "#test-sso")
    db.session.commit()
    return binding.set_cookie(redirect(authn.url), authn.request_id, request.cookies.get(binding.COOKIE))


@bp.get("/test/<reference>")
@require_permission(MANAGE_SSO)
def test_result(reference: str):
    """The stored result of a Test SSO run of the admin's account."""
    account = current_user.account
    event = trial.find_result(account, reference)
    if event is None:
        abort(404)  # another account's result answers exactly like a missing one
    config = service.get_config(account)
    return render_template("sso_setup/test_result.html", account=account, config=config,
                           result=diagnostics.attempt(event), test_form=TestSsoForm(),
                           configured_fingerprints={c.sha256_fingerprint for c in config.certificates})


@bp.post("/sp-keys")
@require_permission(MANAGE_SSO)
def sp_key_options():
    """Save Sign AuthnRequests / Want encrypted assertions (either generates the SP key pair when missing)."""
    account = current_user.account
    form = SpKeyOptionsForm()
    if form.validate_on_submit():
        change = service.SettingsChange(sign_requests=form.sign_requests.data,
                                        want_encrypted_assertions=form.want_encrypted_assertions.data)
        if _save(lambda: service.apply(account, change, actor=_actor()), form, "want_encrypted_assertions"):
            return redirect(url_for("sso_setup.settings") + "#sp-keys")
    return _page(account, sp_key_form=form)


@bp.post("/sp-keys/create")
@require_permission(MANAGE_SSO)
def sp_key_create():
    """Generate the SP key pair without turning anything on, so the IdP can get its certificate first."""
    if SpKeyCreateForm().validate_on_submit():
        sp_keys.ensure(current_user.account, actor=_actor())
        db.session.commit()
        flash("SP certificate created. Download it and upload it to the IdP.", "success")
    return redirect(url_for("sso_setup.settings") + "#sp-keys")


@bp.get("/sp-certificate/<state>")
@require_permission(MANAGE_SSO)
def sp_certificate(state: str):
    """The account's SP certificate (current or next) as a PEM file, for Okta's certificate uploads."""
    account = current_user.account
    row = sp_keys.keys(account).get(state)
    if row is None:
        abort(404)
    suffix = "" if state == "current" else "-next"
    return Response(row.cert_pem, mimetype="application/x-pem-file", headers={
        "Content-Disposition": f'attachment; filename="{account.domain}-sp{suffix}.pem"'})
