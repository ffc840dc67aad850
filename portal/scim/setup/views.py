"""Account settings → Security → Provisioning (SCIM): base URL, tokens, default role, recent activity."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal import confirmation
from portal.directory import roles
from portal.errors import ServiceError
from portal.extensions import db

from portal.permissions import MANAGE_SSO, require_permission
from portal.scim import activity, tokens
from portal.scim.endpoints import base_url
from portal.scim.setup.forms import NO_ROLE, DefaultRoleForm, TokenCreateForm

bp = Blueprint("scim_setup", __name__, url_prefix="/settings/security/provisioning")


@bp.route("", methods=["GET", "POST"])
@require_permission(MANAGE_SSO)
def settings():
    """The page; its forms post here with a hidden section field, so a refusal re-renders at this URL."""
    if request.method == "POST":
        handler = {"token": create_token, "default_role": default_role}.get(request.form.get("section", ""))
        if handler is None:
            abort(400)
        return handler()
    return _page()


@bp.post("/tokens")
@require_permission(MANAGE_SSO)
def create_token():
    form = TokenCreateForm()
    if form.validate_on_submit():
        try:
            row, token = tokens.create_token(current_user.account, form.name.data, actor=_actor())
        except ServiceError as exc:
            db.session.rollback()
            form.name.errors = [str(exc)]
            return _page(create_form=form), 422
        db.session.commit()
        # Shown in this answer only: never in a flash message (the session cookie is signed, not encrypted).
        return _page(new_token=token, new_token_name=row.name)
    return _page(create_form=form), 422


@bp.route("/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@require_permission(MANAGE_SSO)
def revoke_token(token_id: int):
    account = current_user.account
    try:
        token = tokens.get_token(account, token_id)
    except ServiceError:
        abort(404)  # another account's token answers exactly like a missing one
    back = url_for("scim_setup.settings") + "#tokens"
    if not confirmation.confirmed():
        used = token.last_used_at.strftime("%Y-%m-%d %H:%M UTC") if token.last_used_at else "never"
        return confirmation.page(
            f"Revoke the SCIM token “{token.name}”?",
            ["Your IdP's requests with this token are refused (401) from the moment you revoke it: provisioning "
             "with it stops (new people are not created, deactivations in the IdP no longer reach the portal) until "
             "the IdP has another token. People and teams already provisioned stay as they are. This cannot be "
             "undone.",
             f"Created {token.created_at.strftime('%Y-%m-%d %H:%M UTC')}, last used {used}."],
            "Revoke token", back, context="Account settings → Security → Provisioning (SCIM)")
    tokens.revoke_token(account, token.id, actor=_actor())
    db.session.commit()
    flash(f"Revoked the token “{token.name}”: your IdP's requests with it are refused from now on.", "success")
    return redirect(back)


@bp.post("/default-role")
@require_permission(MANAGE_SSO)
def default_role():
    account = current_user.account
    form = DefaultRoleForm()
    form.set_roles(roles.list_roles())
    if form.validate_on_submit():
        try:
            roles.set_default_role(account, None if form.role.data == NO_ROLE else form.role.data, actor=_actor())
        except ServiceError as exc:
            db.session.rollback()
            form.role.errors = [str(exc)]
            return _page(role_form=form), 422
        db.session.commit()
        flash("Saved the default role for new people.", "success:default-role")
        return redirect(url_for("scim_setup.settings") + "#default-role")
    return _page(role_form=form), 422


def _actor():
    return current_user._get_current_object()


def _page(**extra):
    account = current_user.account
    role_form = extra.pop("role_form", None) or DefaultRoleForm(formdata=None)
    role_form.set_roles(roles.list_roles())
    extra.setdefault("create_form", TokenCreateForm(formdata=None))
    return render_template("scim_setup/settings.html", account=account, base_url=base_url(account),
                           tokens=tokens.list_tokens(account), role_form=role_form,
                           default_role=roles.default_role(account), events=activity.recent(account),
                           **extra)



