"""Account settings → Security → Single Sign-On: the settings forms and Test SSO with its result page."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal import confirmation
from portal.accounts import domains
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import IdpCertificate, utcnow
from portal.permissions import MANAGE_SSO, get_owned_or_404, require_permission
from portal.sso import service as login_service
from portal.sso import binding, trial
from portal.sso.setup import confirmations as asks
from portal.sso.setup import diagnostics
from portal.sso.setup import settings as service
from portal.sso.setup.certs import EXPIRY_WARNING_DAYS, MAX_CERTIFICATE_BYTES
from portal.sso.setup.forms import (CertificateAddForm, CertificateRemoveForm, DomainForm, MetadataImportForm,
                                    RequireSsoForm, SsoSettingsForm, TestSsoForm, uploaded)
from portal.sso.setup.metadata import MAX_METADATA_BYTES
from portal.sso.urls import sp_urls

bp = Blueprint("sso_setup", __name__, url_prefix="/settings/security/sso")


@bp.route("", methods=["GET", "POST"])
@require_permission(MANAGE_SSO)
def settings():
    account = current_user.account
    form = SsoSettingsForm(obj=service.get_config(account))
    if form.validate_on_submit() and not form.enabled.data and service.get_config(account).enabled \
            and not confirmation.confirmed():
        return _ask(asks.turn_sso_off(account), "Turn SSO off")
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
            domains.set_claimed_email_domains(account, (form.email_domains.data or "").splitlines(),
                                              actor=_actor())
            return service.Outcome(changes={"domain": ()}, warnings=warnings)
        if _save(change, form, "domain"):
            return redirect(url_for("sso_setup.settings"))
    return _page(account, domain_form=form)


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


@bp.route("/certificates/<int:cert_id>/remove", methods=["GET", "POST"])
@require_permission(MANAGE_SSO)
def remove_certificate(cert_id: int):
    cert = get_owned_or_404(IdpCertificate, cert_id)
    if not confirmation.confirmed():
        remaining = len(service.active_certificates(current_user.account))
        return _ask(asks.remove_certificate(cert, remaining), "Remove certificate", "certificates")
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
    if form.validate_on_submit() and form.require_sso.data and not service.get_config(account).require_sso \
            and not confirmation.confirmed():
        return _ask(asks.require_sso(account, diagnostics.break_glass_admins(account)), "Require SSO", "require-sso")
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


def _actor():
    return current_user._get_current_object()


def _ask(question: tuple[str, list[str]], button: str, anchor: str = ""):
    """The confirmation step of a change: the posted form comes first to it, and confirming posts it again."""
    return confirmation.page(question[0], question[1], button,
                             url_for("sso_setup.settings") + (f"#{anchor}" if anchor else ""),
                             context="Account settings → Security → Single Sign-On", hidden=confirmation.carried(),
                             refused=False)


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
    forms.setdefault("domain_form", DomainForm(formdata=None, domain=account.domain,
                                               email_domains="\n".join(domains.claimed_email_domains(account))))
    forms.setdefault("certificate_form", CertificateAddForm(formdata=None))
    forms.setdefault("metadata_form", MetadataImportForm(formdata=None))
    forms.setdefault("require_form", RequireSsoForm(formdata=None, obj=config))
    return render_template(
        "sso_setup/settings.html", account=account, config=config, urls=sp_urls(account.domain),
        certificates=service.active_certificates(account), missing=service.missing_for_enable(account, now),
        expiry_warnings=service.expiry_warnings(account, now), remove_form=CertificateRemoveForm(),
        now=now, warn_after=now + timedelta(days=EXPIRY_WARNING_DAYS), test_form=TestSsoForm(),
        attempts=diagnostics.recent_attempts(account), last_test=trial.last_result(account),
        break_glass_admins=diagnostics.break_glass_admins(account),
        break_glass_logins=diagnostics.break_glass_logins(account),
        configured_fingerprints={c.sha256_fingerprint for c in config.certificates}, **forms)


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
