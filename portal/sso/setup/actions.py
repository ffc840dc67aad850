"""The SSO page's actions beside its sections: Refresh now (Metadata URL), Test SSO and its result, SP certificates."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request
from flask_login import current_user

from portal.extensions import db
from portal.permissions import MANAGE_SSO, require_permission
from portal.sso import binding, sp_keys, trial
from portal.sso import service as login_service
from portal.sso.setup import diagnostics, metadata_url
from portal.sso.setup import settings as service
from portal.sso.setup.forms import EnableForm, MetadataRefreshForm, SpKeyCreateForm, TestSsoForm
from portal.sso.setup.metadata_cli import refresh_and_record
from portal.sso.setup.page import acting_admin, back_to, bp


@bp.post("/metadata-url/refresh")
@require_permission(MANAGE_SSO)
def refresh_metadata_url():
    account = current_user.account
    if not MetadataRefreshForm().validate_on_submit():
        flash("The form expired; press Refresh now again.", "error:metadata_url")
    elif not service.get_config(account).idp_metadata_url:
        flash("Save a Metadata URL first.", "error:metadata_url")
    elif (wait := metadata_url.page_fetch_wait(account)) is not None:
        flash(metadata_url.too_many_fetches(wait), "error:metadata_url")
    else:
        result = refresh_and_record(account, actor=acting_admin())
        if isinstance(result, metadata_url.RefreshError):
            flash(f"The refresh failed: {result}", "error:metadata_url")
        else:
            flash("Refreshed from the Metadata URL." if result.changed else
                  "Refreshed from the Metadata URL: nothing changed.", "success:metadata_url")
            for warning in result.outcome.warnings:
                flash(warning, "warning:metadata_url")
    return back_to("metadata_url")


@bp.post("/test")
@require_permission(MANAGE_SSO)
def test_sso():
    """Send the admin to the IdP with an AuthnRequest marked as a test (SSO may be off)."""
    account = current_user.account
    if not TestSsoForm().validate_on_submit():
        flash("The form expired; press Test SSO again.", "error:test")
        return back_to("test")
    try:
        authn = login_service.start_login(account, test_by=acting_admin())
    except login_service.SsoError:
        db.session.rollback()
        missing = ", ".join(service.missing_for_enable(account)) or "the IdP settings"
        flash(f"Test SSO needs the IdP settings first. Fill in: {missing}.", "error:test")
        return back_to("test")
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
                           result=diagnostics.attempt(event), test_form=TestSsoForm(), enable_form=EnableForm(),
                           configured_fingerprints={c.sha256_fingerprint for c in config.certificates})


@bp.post("/sp-keys/create")
@require_permission(MANAGE_SSO)
def sp_key_create():
    """Generate the SP key pair without turning anything on, so the IdP can get its certificate first."""
    if SpKeyCreateForm().validate_on_submit():
        sp_keys.ensure(current_user.account, actor=acting_admin())
        db.session.commit()
        flash("SP certificate created. Download it and upload it to the IdP.", "success:sp_keys")
    else:
        flash("The form expired; press Create SP certificate again.", "error:sp_keys")
    return back_to("sp_keys")


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
