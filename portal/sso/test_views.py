"""Test SSO (registered on the sso blueprint): start a test login, then show its stored result."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from portal.extensions import db
from portal.permissions import MANAGE_SSO, PermissionDenied, require_permission
from portal.sso import diagnostics, service, settings, trial
from portal.sso.forms import TestSsoForm
from portal.sso.settings_views import SETTINGS_PATH
from portal.sso.views import bp


@bp.post(f"{SETTINGS_PATH}/test")
@require_permission(MANAGE_SSO)
def test_sso():
    """Send the admin to the IdP with an AuthnRequest marked as a test (SSO may be off)."""
    account = current_user.account
    if not TestSsoForm().validate_on_submit():
        flash("The form expired; press Test SSO again.", "error")
        return redirect(url_for("sso.settings") + "#test-sso")
    try:
        url = service.start_login(account, test_by=current_user._get_current_object())
    except service.SsoError:
        db.session.rollback()
        missing = ", ".join(settings.missing_for_enable(account)) or "the IdP settings"
        flash(f"Test SSO needs the IdP settings first. Fill in: {missing}.", "error")
        return redirect(url_for("sso.settings") + "#test-sso")
    db.session.commit()
    return redirect(url)


@bp.get(f"{SETTINGS_PATH}/test/<reference>")
@require_permission(MANAGE_SSO)
def test_result(reference: str):
    """The stored result of a Test SSO run of the admin's account."""
    account = current_user.account
    event = trial.find_result(account, reference)
    if event is None:
        if trial.exists_elsewhere(account, reference):
            raise PermissionDenied(message="This Test SSO result belongs to another account.")
        abort(404)
    config = settings.get_config(account)
    return render_template("sso/test_result.html", account=account, config=config,
                           result=diagnostics.attempt(event), test_form=TestSsoForm(),
                           configured_fingerprints={c.sha256_fingerprint for c in config.certificates})
