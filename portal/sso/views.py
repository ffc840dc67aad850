"""Views of the SSO blueprint: SP-initiated login, the Assertion Consumer Service and the SP metadata."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from portal import sessions
from portal.extensions import csrf, db, limiter
from portal.models import Account
from portal.sso import acs_account, binding, saml, service, throttle, unsolicited
from portal.sso.reasons import Reason

bp = Blueprint("sso", __name__)


def get_account_or_404(domain: str) -> Account:
    account = Account.by_domain(domain)
    if account is None:
        abort(404)
    return account


@bp.get("/login/saml/<domain>")
def start(domain):
    account = get_account_or_404(domain)
    restarts = unsolicited.restarts(request.cookies.get(unsolicited.COOKIE))
    if request.args.get(unsolicited.FLAG) and restarts >= unsolicited.MAX_RESTARTS:
        reference = unsolicited.stop(account, restarts)
        db.session.commit()
        return render_template("sso/failed.html", account=account, reason=Reason.UNSOLICITED_RESPONSE,
                               reference=reference), 400
    try:
        authn = service.start_login(account, request.args.get("next"))
    except service.SsoError as exc:
        if exc.reason is not Reason.SSO_DISABLED:  # e.g. the SP key cannot be read: audited, keep the event
            return _failed(account, exc)
        return render_template("sso/unavailable.html", account=account), 409
    db.session.commit()
    response = binding.set_cookie(redirect(authn.url), authn.request_id, request.cookies.get(binding.COOKIE))
    if request.args.get(unsolicited.FLAG):
        unsolicited.count_restart(response, restarts)
    return response


@bp.post("/login/saml/<domain>/callback")
@csrf.exempt  # the IdP posts cross-site; SAML validation protects this endpoint
def callback(domain):
    wait = throttle.acs_wait(request.remote_addr or "")
    if wait is not None:  # nothing read, nothing audited: a flood must not reach the accounts' audit logs
        return render_template("errors/error.html", code=429, title="Too many attempts",
                               message="Too many sign-in responses from your network. Wait a minute and "
                                       "try again."), 429, {"Retry-After": str(wait)}
    account = acs_account.load(domain)
    if account is None:
        abort(404)
    match _complete_login(account):
        case service.SignedIn(user=user, next_url=next_url, assertion=assertion):
            sessions.start(user, method="sso", not_after=assertion.session_not_on_or_after)
            db.session.commit()
            return unsolicited.clear(redirect(next_url, code=303))
        case service.TestReported(reference=reference):
            db.session.commit()
            return _test_result(reference)
        case service.Restart(next_url=next_url):
            db.session.commit()  # keep its audit event
            return redirect(url_for("sso.start", domain=account.domain, next=next_url, **{unsolicited.FLAG: 1}),
                            code=303)
        case service.Refused() as refused:
            return _failed(account, refused)


def _complete_login(account) -> service.LoginOutcome:
    # Cap the body before anything decodes it (Flask's own limit is far larger).
    limit = current_app.config["SAML_MAX_RESPONSE_BYTES"]
    request.max_content_length = limit
    try:
        if (request.content_length or 0) > limit:
            raise RequestEntityTooLarge()
        data = saml.request_data(request)
    except RequestEntityTooLarge:
        return service.refuse(account, Reason.RESPONSE_TOO_LARGE, status=413,
                              received_bytes=request.content_length or "unknown")
    return service.complete_login(account, data, browser=binding.proofs(request.cookies.get(binding.COOKIE)))


@bp.get("/login/saml/<domain>/metadata")
def metadata(domain):
    account = get_account_or_404(domain)
    return Response(saml.sp_metadata(account), mimetype="application/samlmetadata+xml")


@limiter.request_filter
def _acs_not_rate_limited() -> bool:
    """No rate limit on the ACS: every response answers one pending request, once. (A request filter is
    checked before the limiter resolves any limit: cheaper than @limiter.exempt on this hot path.)"""
    return request.endpoint == "sso.callback"


def _test_result(reference: str):
    # A Test SSO run never touches the session: the admin reads the stored result on a page that
    # checks their own session (the IdP's cross-site post may not carry it).
    return redirect(url_for("sso_setup.test_result", reference=reference), code=303)


def _failed(account: Account, exc: service.SsoError | service.Refused):
    db.session.commit()  # keep the failure's audit event
    if exc.test:
        return _test_result(exc.reference)
    if exc.reason is Reason.SSO_DISABLED:
        return render_template("sso/unavailable.html", account=account), exc.status
    return render_template("sso/failed.html", account=account, reason=exc.reason, reference=exc.reference), exc.status
