"""Account settings → Security → Single Sign-On (registered on the sso blueprint), and the SP metadata."""
from __future__ import annotations

from datetime import timedelta

from flask import Response, flash, redirect, render_template, url_for
from flask_login import current_user

from portal.errors import ServiceError
from portal.extensions import db
from portal.models import IdpCertificate, utcnow
from portal.permissions import MANAGE_SSO, get_owned_or_403, require_permission
from portal.sso import diagnostics, domains, saml, settings as service, trial
from portal.sso.certs import EXPIRY_WARNING_DAYS, MAX_CERTIFICATE_BYTES
from portal.sso.forms import (CertificateAddForm, CertificateRemoveForm, DomainForm, MetadataImportForm,
                              SsoSettingsForm, TestSsoForm, uploaded)
from portal.sso.metadata import MAX_METADATA_BYTES
from portal.sso.urls import sp_urls
from portal.sso.views import bp, get_account_or_404

SETTINGS_PATH = "/settings/security/sso"


@bp.route(SETTINGS_PATH, methods=["GET", "POST"])
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
        if _save(lambda: service.apply(account, change), form, "idp_certificate"):
            return redirect(url_for("sso.settings"))
    return _page(account, settings_form=form)


@bp.post(f"{SETTINGS_PATH}/domain")
@require_permission(MANAGE_SSO)
def settings_domain():
    account = current_user.account
    form = DomainForm()
    if form.validate_on_submit():
        def change():
            warnings = domains.change_domain(account, form.domain.data)
            domains.set_claimed_email_domains(account, (form.email_domains.data or "").splitlines())
            return service.Outcome(changes={"domain": ()}, warnings=warnings)
        if _save(change, form, "domain"):
            return redirect(url_for("sso.settings"))
    return _page(account, domain_form=form)


@bp.post(f"{SETTINGS_PATH}/certificates")
@require_permission(MANAGE_SSO)
def add_certificate():
    account = current_user.account
    form = CertificateAddForm()
    if form.validate_on_submit():
        data = uploaded(form.new_certificate_file, MAX_CERTIFICATE_BYTES) or form.new_certificate.data or ""
        change = service.SettingsChange(add_certificates=[data])
        if _save(lambda: service.apply(account, change), form, "new_certificate"):
            return redirect(url_for("sso.settings") + "#certificates")
    return _page(account, certificate_form=form)


@bp.post(f"{SETTINGS_PATH}/certificates/<int:cert_id>/remove")
@require_permission(MANAGE_SSO)
def remove_certificate(cert_id: int):
    cert = get_owned_or_403(IdpCertificate, cert_id)
    if CertificateRemoveForm().validate_on_submit():
        change = service.SettingsChange(remove_fingerprints=[cert.sha256_fingerprint])
        try:
            service.apply(current_user.account, change)
        except ServiceError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(f"Removed the certificate {cert.sha256_fingerprint}.", "success")
    return redirect(url_for("sso.settings") + "#certificates")


@bp.post(f"{SETTINGS_PATH}/metadata")
@require_permission(MANAGE_SSO)
def import_metadata():
    account = current_user.account
    form = MetadataImportForm()
    if form.validate_on_submit():
        data = uploaded(form.metadata_file, MAX_METADATA_BYTES) or form.metadata_xml.data or ""
        if _save(lambda: service.import_metadata(account, data), form, "metadata_xml"):
            return redirect(url_for("sso.settings"))
    return _page(account, metadata_form=form)


@bp.get("/login/saml/<domain>/metadata")
def metadata(domain):
    account = get_account_or_404(domain)
    return Response(saml.sp_metadata(account), mimetype="application/samlmetadata+xml")


def _save(action, form, default_field: str) -> bool:
    """Run one service call; commit and flash on success, else roll back and put errors on the form."""
    try:
        outcome = action()
    except ServiceError as exc:
        db.session.rollback()
        errors = dict(getattr(exc, "errors", None) or {default_field: str(exc)})
        if "idp_certificate" in errors and not hasattr(form, "idp_certificate"):
            errors[default_field] = errors.pop("idp_certificate")
        for name, message in errors.items():
            target = form[name] if name in form else form[default_field]
            target.errors = list(target.errors) + [message]
        return False
    db.session.commit()
    flash("Saved." if outcome.changed else "Nothing changed.", "success" if outcome.changed else "info")
    for warning in outcome.warnings:
        flash(warning, "warning")
    return True


def _page(account, **forms):
    """The settings page with any form that failed validation kept as submitted."""
    config = service.get_config(account)
    now = utcnow()
    forms.setdefault("settings_form", SsoSettingsForm(formdata=None, obj=config))
    forms.setdefault("domain_form", DomainForm(formdata=None, domain=account.domain,
                                               email_domains="\n".join(domains.claimed_email_domains(account))))
    forms.setdefault("certificate_form", CertificateAddForm(formdata=None))
    forms.setdefault("metadata_form", MetadataImportForm(formdata=None))
    return render_template(
        "sso/settings.html", account=account, config=config, urls=sp_urls(account.domain),
        certificates=service.active_certificates(account), missing=service.missing_for_enable(account, now),
        expiry_warnings=service.expiry_warnings(account, now), remove_form=CertificateRemoveForm(),
        now=now, warn_after=now + timedelta(days=EXPIRY_WARNING_DAYS), test_form=TestSsoForm(),
        attempts=diagnostics.recent_attempts(account), last_test=trial.last_result(account),
        configured_fingerprints={c.sha256_fingerprint for c in config.certificates}, **forms)
