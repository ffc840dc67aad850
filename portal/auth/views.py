"""Blueprint "auth": password login, Log in with SSO, logout, the dashboard and the user's own account page."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal import confirmation, sessions
from portal.accounts.service import find_for_sso
from portal.auth import throttle
from portal.auth.forms import ChangePasswordForm, ConfirmForm, LoginForm, SsoStartForm
from portal.auth.service import authenticate, requires_sso
from portal.directory import users
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import normalise_email
from portal.permissions import PERMISSIONS
from portal.security import safe_next_path
from portal.sso.urls import sp_urls

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("auth.dashboard"))
    form = LoginForm()  # Flask-WTF reads a form or a JSON body alike: the email is always the parsed one
    if form.validate_on_submit():
        wait = throttle.hit(normalise_email(form.email.data), request.remote_addr or "")
        if wait is not None:
            return render_template("auth/login.html", form=form, throttled=True), 429, {"Retry-After": str(wait)}
        outcome = authenticate(form.email.data, form.password.data)
        db.session.commit()  # keep the audit event of either outcome
        if outcome.user is not None:
            throttle.give_back()
            sessions.start(outcome.user, method="password", remember=form.remember.data)
            db.session.commit()
            return redirect(safe_next_path(request.args.get("next")) or url_for("auth.dashboard"))
        if outcome.sso_required:
            return render_template("auth/login.html", form=form, sso_required=outcome.account,
                                   sso_url=sp_urls(outcome.account.domain).initiation_url)
        form.password.errors.append("Wrong email or password.")
    return render_template("auth/login.html", form=form)


@bp.route("/login/sso", methods=["GET", "POST"])
def login_sso():
    form = SsoStartForm()
    if form.validate_on_submit():
        account = find_for_sso(form.domain.data)
        if account is not None:
            return redirect(url_for("sso.start", domain=account.domain))
        form.domain.errors.append(
            "No account uses this custom domain or email domain. Check the spelling, or ask your "
            "account admin for the SP Initiation URL.")
    return render_template("auth/login_sso.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    sessions.end()
    db.session.commit()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.get("/")
@login_required
def dashboard():
    roles = current_user.effective_roles()
    permissions = sorted({p for r in roles for p in r.permissions})
    return render_template("auth/dashboard.html", roles=roles, permissions=permissions,
                           labels=PERMISSIONS, teams=current_user.teams)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account_page():
    """Your account; the password form posts here (section field), so a refusal re-renders at this URL."""
    if request.method == "POST":
        if request.form.get("section") != "password":
            abort(400)
        return change_password()
    return _account_page()


def _account_page(password_form: ChangePasswordForm | None = None, status: int = 200):
    user = current_user._get_current_object()
    return render_template("auth/account.html", sessions=sessions.list_for(user.id),
                           current_session=sessions.current_session_id(), action=ConfirmForm(),
                           password_form=password_form or ChangePasswordForm(),
                           password_allowed=bool(user.password_hash) and not requires_sso(user)), status


@bp.post("/account/password")
@login_required
def change_password():
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        try:
            ended = users.change_password(user, form.current_password.data, form.new_password.data,
                                          keep_session_id=sessions.current_session_id())
        except ServiceError as exc:
            db.session.rollback()
            form.current_password.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Password changed. {_signed_out(ended)} on your other devices.", "success:password")
            return redirect(url_for("auth.account_page") + "#password")
    return _account_page(form, 422)


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if session_id == sessions.current_session_id():
        sessions.end()
        db.session.commit()
        flash("You are signed out.", "info")
        return redirect(url_for("auth.login"))
    if not sessions.end_one(current_user.id, session_id):
        abort(404)
    db.session.commit()
    flash("Signed out that device.", "success")
    return redirect(url_for("auth.account_page"))


@bp.post("/account/sessions/end-all")
@login_required
def end_all_sessions():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not confirmation.confirmed():  # the account page's button leads to this step first
        return confirmation.page("Sign out everywhere?", [
            "Every session of yours ends, on every device and server, this browser included, and “Keep me signed "
            "in” is forgotten. You will have to sign in again here too."],
            "Sign out everywhere", url_for("auth.account_page") + "#sessions", refused=False)
    user = current_user._get_current_object()
    users.sign_out_everywhere(user.account, user, actor=user)
    sessions.end()  # this browser's session is already gone; forget its cookie too
    db.session.commit()
    flash("You are signed out everywhere, this browser included.", "info")
    return redirect(url_for("auth.login"))


def _signed_out(count: int) -> str:
    return f"Signed out {count} session{'s' if count != 1 else ''}"
