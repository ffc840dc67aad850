"""SP-initiated SSO login: start_login() sends the user to the IdP, complete_login() checks what comes back."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from flask import current_app
from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.audit import Event
from portal.directory import group_sync, provisioning
from portal.directory.users import check_email
from portal.errors import PortalError, ServiceError
from portal.extensions import db
from portal.models import AccountView, PendingAuthnRequest, SeenAssertion, User, UserRef, iso, utcnow
from portal.security import safe_next_path
from portal.sso import binding, flood, saml, trial, unsolicited
from portal.sso.reasons import Reason, new_reference
from portal.sso.response_summary import compact, summarize
from portal.sso.unsolicited import Restart
from portal.sso.urls import sp_urls


class SsoError(PortalError):
    """start_login() was refused (SSO off, or the SP key cannot be read: then already audited under reference)."""

    def __init__(self, reason: Reason, reference: str = "", status: int = 400, test: bool = False):
        super().__init__(reason.value)
        self.reason = reason
        self.reference = reference
        self.status = status
        self.test = test


# What complete_login() answers: exactly one of these four, matched by the ACS view.
@dataclass(frozen=True)
class SignedIn:
    """The response passed every check: this user signs in and lands on next_url (an in-portal path)."""
    user: UserRef
    next_url: str
    assertion: saml.ValidatedAssertion
    created: bool = False
    groups: tuple[str, ...] = ()  # raw Group values, as sent


@dataclass(frozen=True)
class TestReported:
    """A Test SSO run passed every check; its result is at /settings/security/sso/test/<reference>."""
    __test__ = False  # not a pytest test class
    reference: str
    assertion: saml.ValidatedAssertion


@dataclass(frozen=True)
class Refused:
    """The response was refused; the refusal is audited under reference, the login's writes rolled back."""
    reason: Reason
    reference: str
    status: int = 400
    test: bool = False  # a Test SSO run: the admin's result page, not the user's refusal page


LoginOutcome = SignedIn | TestReported | Restart | Refused


class _Attempt:
    """One IdP response on its way through the ACS: what a refusal at any step needs to audit it."""

    def __init__(self, account: AccountView, now: datetime):
        self.account, self.now = account, now
        self.response = None  # the parsed response (saml.OneLogin_Saml2_Response), once it parsed
        self.request_id: str | None = None  # the AuthnRequest it answers (InResponseTo)
        self.tester: User | None = None  # the admin, when that request was a Test SSO run
        self.answered = False  # the response passed validation: its request is used up even if refused later
        self.subject = ""
        self._sent: dict | None = None

    @property
    def sent(self) -> dict:
        """The redacted summary of the response as parsed (built once, only where it is stored)."""
        if self._sent is None:
            self._sent = summarize(saml.readable_document(self.response)) if self.response is not None else {}
        return self._sent


def idp_fields_complete(account: AccountView) -> bool:
    """Whether IdP Login URL, Identity Provider Issuer and a certificate are set (SSO on or not)."""
    config = account.sso_config
    return bool(config and config.idp_login_url and config.idp_issuer and config.certificates)


def sso_ready(account: AccountView) -> bool:
    """Whether SSO is on and has everything a login needs."""
    return bool(account.sso_config and account.sso_config.enabled and idp_fields_complete(account))


def start_login(account: AccountView, next_target: str | None = None, now: datetime | None = None,
                test_by: User | None = None) -> saml.AuthnRedirect:
    """Build and store an AuthnRequest for account; return the IdP URL to redirect the browser to, and its ID.

    test_by: the admin running Test SSO; the request then works with SSO turned off, and its
    response is only reported on (see trial.py), never a login.
    """
    if not (idp_fields_complete(account) if test_by is not None else sso_ready(account)):
        raise SsoError(Reason.SSO_DISABLED, status=409)
    now = now or utcnow()
    target = safe_next_path(next_target) or "/"
    try:
        authn = saml.build_authn_request(account, relay_state=target)
    except saml.Rejected as exc:  # the SP key a signed AuthnRequest needs cannot be read
        refused = refuse(account, exc.reason, status=409, problem=exc.problem)
        raise SsoError(refused.reason, refused.reference, refused.status) from None
    # Expired rows are useless; sweeping them here keeps both stores small without a cron job.
    db.session.execute(delete(PendingAuthnRequest).where(PendingAuthnRequest.expires_at < now))
    db.session.execute(delete(SeenAssertion).where(SeenAssertion.expires_at < now))
    ttl = current_app.config["SAML_REQUEST_TTL"]
    db.session.add(PendingAuthnRequest(request_id=authn.request_id, account_id=account.id, created_at=now,
                                       expires_at=now + timedelta(seconds=ttl), next_url=target,
                                       test_by_user_id=test_by.id if test_by is not None else None))
    db.session.flush()
    return authn


def refuse(account: AccountView, reason: Reason, status: int = 400, **details) -> Refused:
    """Audit a refusal that happened before the response could be read (e.g. too large)."""
    return _refused(_Attempt(account, utcnow()), saml.Rejected(reason, status=status, **details))


def complete_login(account: AccountView, request_data: dict, now: datetime | None = None,
                   browser: frozenset[str] | None = None) -> LoginOutcome:
    """Check an IdP response posted to account's ACS; sign its user in, report a Test SSO run, restart an
    IdP-initiated login, or refuse it (caller commits).

    browser: the binding tags the posting browser holds (sso/binding.py); the response must answer a login
    this browser started. None skips that check (plain-http try-out, where no such cookie can exist).
    A refusal leaves nothing of the login but its audit event: its writes happen in a savepoint, rolled
    back before the refusal is audited (the caller's own work in the transaction is left alone).
    """
    attempt = _Attempt(account, now or utcnow())
    savepoint = db.session.begin_nested()
    try:
        outcome = _complete(attempt, request_data, browser)
    except saml.Rejected as exc:
        savepoint.rollback()
        return _refused(attempt, exc)
    if outcome is None:  # IdP-initiated: never validated nor accepted, restarted as SP-initiated
        savepoint.rollback()
        relay = (request_data.get("post_data") or {}).get("RelayState")
        return unsolicited.restart(account, attempt.sent, relay, attempt.now, response=attempt.response)
    savepoint.commit()
    return outcome


def _complete(attempt: _Attempt, request_data: dict, browser: frozenset[str] | None) -> SignedIn | TestReported | None:
    """The checks and writes of a login, in order; None for an unsolicited response. Raises saml.Rejected."""
    account = attempt.account
    response = _parse(account, request_data)
    attempt.response = response
    attempt.request_id = saml.in_response_to(response)
    # Only a pending request stored by "Test SSO" makes a test run; nothing in the response can ask for one.
    # With SSO on, the pending request is read and used up in one statement once the response passed every
    # check (a refusal reads it to find a Test SSO admin). With SSO off only a Test SSO request may go on.
    if not sso_ready(account):
        attempt.tester = _tester(account, _pending(account, attempt.request_id))
        if attempt.tester is None:
            raise saml.Rejected(Reason.SSO_DISABLED)
    if attempt.request_id is None:
        return None
    skew = current_app.config["SAML_CLOCK_SKEW"]
    assertion = saml.validate(account, response, request_data, attempt.request_id, skew)
    attempt.answered = True
    email = assertion.nameid.strip()
    problem = _nameid_problem(assertion.nameid_format, email)
    if problem:
        raise saml.Rejected(Reason.NAMEID_NOT_EMAIL, nameid_problem=problem)
    config = account.sso_config
    asserted = assertion.attributes.get(config.group_attribute)  # None: the IdP sent no group attribute at all
    # Split, filter (RE2) and cap the groups before the login's first write below, so no write lock (on
    # SQLite: the whole database's) is held while a long group list is matched.
    parsed = group_sync.parse_groups(asserted, config, current_app.config["SAML_MAX_GROUPS"])
    _remember_assertion(account, assertion, skew)
    next_url = _consume_request(attempt)
    # Checked last, on an otherwise valid response (every other refusal keeps its own reason): the browser
    # posting it must be the one that started this login.
    if browser is not None and binding.tag(attempt.request_id) not in browser:
        raise saml.Rejected(Reason.BROWSER_MISMATCH)
    attempt.subject = email
    if attempt.tester is not None:  # a test run stops here: nobody is created, signed in or moved between teams
        reference = new_reference()
        _provisioning(trial.report, account, attempt.tester, email, assertion.attributes, attempt.sent,
                      reference=reference)
        return TestReported(reference, assertion)
    user, created = _provisioning(provisioning.sign_in_user, account, email, assertion.attributes,
                                  auto_create=config.auto_create_users, at=attempt.now)
    groups = tuple(asserted or ())
    sync = group_sync.sync_groups(account, user, asserted, config,
                                  max_groups=current_app.config["SAML_MAX_GROUPS"],
                                  max_removals=current_app.config["SAML_MAX_TEAM_REMOVALS"], parse=parsed)
    audit.record(account, Event.SSO_LOGIN, actor=user, subject=user.email, created=created, nameid=email,
                 assertion_id=assertion.assertion_id, session_index=assertion.session_index,
                 attributes=sorted(assertion.attributes), groups=groups[:50],
                 teams_added=sync.added[:50], teams_removed=sync.removed[:50], group_sync=sync.skipped or "done",
                 sent=compact(attempt.sent))
    return SignedIn(user, next_url, assertion, created=created, groups=groups)


def _parse(account: AccountView, request_data: dict):
    """The posted response, parsed; SSO_DISABLED before anything else when the IdP settings are incomplete."""
    if not idp_fields_complete(account):
        raise saml.Rejected(Reason.SSO_DISABLED)
    try:
        return saml.parse_response(account, request_data)
    except saml.Rejected:
        if not sso_ready(account):
            raise saml.Rejected(Reason.SSO_DISABLED) from None
        raise


def _provisioning(step, *args, **kwargs):
    """Run a directory step; its refusal (unknown, deactivated, another account's user) as the login's."""
    try:
        return step(*args, **kwargs)
    except provisioning.ProvisioningError as exc:
        raise saml.Rejected(Reason(exc.code)) from None


# The ACS's statements, built once: every login runs them (Core, on the session's connection and transaction).
_pending_table = PendingAuthnRequest.__table__
_PENDING_COLUMNS = (_pending_table.c.expires_at, _pending_table.c.next_url, _pending_table.c.test_by_user_id)
_PENDING_OF_ACCOUNT = (_pending_table.c.request_id == bindparam("request_id"),
                       _pending_table.c.account_id == bindparam("account_id"))
_PENDING = select(*_PENDING_COLUMNS).where(*_PENDING_OF_ACCOUNT)
_CONSUME = delete(_pending_table).where(*_PENDING_OF_ACCOUNT).returning(*_PENDING_COLUMNS)
_REMEMBER = insert(SeenAssertion.__table__)


def _pending(account: AccountView, request_id: str | None):
    """The pending AuthnRequest row of account named by request_id (expires_at, next_url, test_by_user_id)."""
    if not request_id:
        return None
    return db.session.connection().execute(_PENDING, {"request_id": request_id, "account_id": account.id}).first()


def _tester(account: AccountView, pending) -> User | None:
    """The admin who started this pending request with Test SSO, if it is one."""
    if pending is None or pending.test_by_user_id is None:
        return None
    user = db.session.get(User, pending.test_by_user_id)
    return user if user is not None and user.account_id == account.id else None


def _remember_assertion(account: AccountView, assertion: saml.ValidatedAssertion, skew: int) -> None:
    """Replay store keyed on the Assertion ID: a signed assertion re-wrapped in a new Response is still caught."""
    if not assertion.assertion_id:
        raise saml.Rejected(Reason.MALFORMED_RESPONSE, "the assertion has no ID")
    try:  # concurrent identical posts: the unique key lets exactly one through
        db.session.connection().execute(_REMEMBER, {
            "account_id": account.id, "assertion_id": assertion.assertion_id[:200],
            "expires_at": assertion.not_on_or_after + timedelta(seconds=skew)})
    except IntegrityError:
        raise saml.Rejected(Reason.REPLAYED_ASSERTION) from None


def _consume_request(attempt: _Attempt) -> str:
    """Use up the pending AuthnRequest (one use, one statement): its post-login target; finds a Test SSO admin."""
    pending = db.session.connection().execute(
        _CONSUME, {"request_id": attempt.request_id, "account_id": attempt.account.id}).first()
    if pending is None:  # never sent, already answered, or swept after expiry
        raise saml.Rejected(Reason.REQUEST_UNKNOWN_OR_USED)
    attempt.tester = attempt.tester or _tester(attempt.account, pending)
    if pending.expires_at <= attempt.now:
        raise saml.Rejected(Reason.REQUEST_EXPIRED)
    return pending.next_url or "/"  # start_login stored only a path safe_next_path accepted


def _refused(attempt: _Attempt, refused: saml.Rejected) -> Refused:
    """Audit a refused response with the admin's fix (as a Test SSO result when it answered a test request)."""
    account, reason = attempt.account, refused.reason
    if attempt.tester is None and attempt.request_id:
        attempt.tester = _tester(account, _pending(account, attempt.request_id))
    if attempt.answered:
        # The IdP answered this request, so it is used up even though the login failed.
        db.session.execute(delete(PendingAuthnRequest).where(
            PendingAuthnRequest.request_id == attempt.request_id, PendingAuthnRequest.account_id == account.id))
    sent = attempt.sent
    reference = new_reference()
    details = {k: v for k, v in refused.details.items() if v not in (None, "")}
    if attempt.tester is None and flood.unsigned(account, sent, attempt.answered, reason, attempt.response):
        over = flood.over_rate(account, attempt.now)
        if over:
            audit.tally(account, Event.SSO_LOGIN_FAILURES_COUNTED, window=f"{attempt.now:%Y-%m-%dT%H:%M}",
                        count=over, last_reason=reason.value)
            return Refused(reason, reference, status=refused.status, test=False)
        sent, details = flood.bounded(sent), flood.bounded_details(details)
    subject = (attempt.subject or sent.get("nameid") or "")[:320]
    fix = reason.fix_for(_fix_values(account, sent, details))
    if attempt.tester is not None:
        trial.record_failure(account, attempt.tester, reason, subject=subject, reference=reference, fix=fix,
                             sent=sent, **details)
    else:
        audit.record(account, Event.SSO_LOGIN, actor=None, outcome="failure", reason=reason.value, subject=subject,
                     reference=reference, fix=fix, sent=sent, **details)
    return Refused(reason, reference, status=refused.status, test=attempt.tester is not None)


def _fix_values(account: AccountView, sent: dict, details: dict) -> dict:
    urls = sp_urls(account.domain)
    config = account.sso_config
    certs = list(config.certificates) if config is not None else []
    signing = [s.get("certificate_sha256") for s in sent.get("signatures", []) if s.get("certificate_sha256")]
    values = {
        "sp_entity_id": urls.entity_id, "acs_url": urls.acs_url, "sp_initiation_url": urls.initiation_url,
        "idp_issuer": (config.idp_issuer if config else None) or "(not set)",
        "cert_fingerprints": ", ".join(c.sha256_fingerprint for c in certs) or "(none)",
        "received_cert_fingerprint": ", ".join(dict.fromkeys(signing)) or "(no certificate in the response)",
        "received_issuer": sent.get("assertion_issuer") or sent.get("issuer") or "(none)",
        "received_audience": ", ".join(sent.get("audiences", [])) or "(none)",
        "received_destination": sent.get("destination") or "(none)",
        "received_recipient": sent.get("recipient") or "(none)",
        "received_not_on_or_after": sent.get("not_on_or_after") or sent.get("subject_not_on_or_after") or "(none)",
        "received_not_before": sent.get("not_before") or "(none)",
        "received_in_response_to": sent.get("in_response_to") or "(none)",
        "received_assertion_id": sent.get("assertion_id") or "(none)",
        "received_nameid": sent.get("nameid") or "(none)",
        "received_nameid_format": sent.get("nameid_format") or "(none)",
        "email": sent.get("nameid") or "(none)",
        "status": sent.get("status") or "(none)",
        "status_message": sent.get("status_message") or "no status message",
        "checked_at": iso(utcnow()),
        "clock_skew": current_app.config["SAML_CLOCK_SKEW"],
        "request_ttl": current_app.config["SAML_REQUEST_TTL"],
        "limit_bytes": current_app.config["SAML_MAX_RESPONSE_BYTES"],
    }
    values.update({k: v for k, v in details.items() if isinstance(v, (str, int))})
    return values


@lru_cache(maxsize=4096)  # a pure function of its arguments; the same people sign in again and again
def _nameid_problem(nameid_format: str | None, email: str) -> str:
    """Why the NameID is not an email address the portal accepts (empty when it is)."""
    if nameid_format != saml.NAMEID_EMAIL:
        return "not in the emailAddress format"
    # ASCII only, before any case folding: str.lower() folds the Kelvin sign (U+212A) to "k", and
    # full-width or Cyrillic look-alikes would create a second user who reads like an existing one.
    odd = next((c for c in email if not c.isascii() or not c.isprintable()), None)
    if odd is not None:
        name = unicodedata.name(odd, "a control character")
        return f"it contains U+{ord(odd):04X} {name} at position {email.index(odd)}; only ASCII addresses are accepted"
    try:  # the same rule as every other email in the portal
        check_email(email)
    except ServiceError:
        return "not an email address"
    return ""
