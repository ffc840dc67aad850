"""Blueprint "auth": password login, Log in with SSO, logout, dashboard."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal.accounts.service import find_for_sso
from portal.auth import sessions
from portal.auth.forms import LoginForm, SsoStartForm
from portal.auth.service import authenticate
from portal.extensions import db, limiter
from portal.models import normalise_email
from portal.permissions import PERMISSIONS
from portal.security import safe_next_path

bp = Blueprint("auth", __name__)


def _login_email_key() -> str:
    return "login-email:" + normalise_email(request.form.get("email"))


def _login_failed(response) -> bool:
    # Only failed attempts count towards the throttle; a success redirects.
    return response.status_code == 200


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: _config("LOGIN_LIMIT_PER_EMAIL"), key_func=_login_email_key, methods=["POST"],
               deduct_when=_login_failed, per_method=True)
@limiter.limit(lambda: _config("LOGIN_LIMIT_PER_IP"), methods=["POST"], deduct_when=_login_failed,
               per_method=True)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("auth.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        db.session.commit()  # keep the audit event of either outcome
        if user is not None:
            sessions.start(user, method="password", remember=form.remember.data)
            return redirect(safe_next_path(request.args.get("next")) or url_for("auth.dashboard"))
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
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.get("/")
@login_required
def dashboard():
    roles = current_user.effective_roles()
    permissions = sorted({p for r in roles for p in r.permissions})
    return render_template("auth/dashboard.html", roles=roles, permissions=permissions,
                           labels=PERMISSIONS, teams=current_user.teams)


def _config(name: str) -> str:
    return current_app.config[name]
