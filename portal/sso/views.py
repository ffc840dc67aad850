"""Views of the SSO blueprint: SP-initiated login, ACS, SP metadata, SSO settings."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from portal.models import Account

bp = Blueprint("sso", __name__)


def get_account_or_404(domain: str) -> Account:
    account = Account.by_domain(domain)
    if account is None:
        abort(404)
    return account


@bp.get("/login/saml/<domain>")
def start(domain):
    account = get_account_or_404(domain)
    return render_template("sso/unavailable.html", account=account), 409
