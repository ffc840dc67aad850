"""Test SSO: an admin's real SP-initiated login, checked like any other, that only reports what it would do.

service.start_login(..., test_by=admin) stores the AuthnRequest with test_by_user_id; when the IdP's
response to it arrives, service.complete_login runs every check and then hands over to report(),
which writes nothing but the run's SsoTestResult row and its "sso.test" audit event. The row (found by
its reference) is the result page's only source, because the IdP's cross-site post may arrive without
the admin's session cookie.
"""
from __future__ import annotations

import json
import re

from flask import current_app
from sqlalchemy import select

from portal import audit
from portal.audit import Event
from portal.directory import group_sync, provisioning
from portal.extensions import db
from portal.models import AccountView, SsoTestResult, User, normalise_email

from portal.sso.reasons import Reason
from portal.sso.response_summary import MAX_SUMMARY_CHARS, fit

REFERENCE = re.compile(r"SSO-[A-Z2-9]{8}")
_MAX_DETAILS = 15_000  # under audit.MAX_DETAIL_CHARS, so the event is never replaced by a truncated preview


def report(account: AccountView, tester: User, email: str, attributes: dict, sent: dict, *, reference: str) -> None:
    """Record which user the login would sign in (or create) and its team changes, changing nothing else.

    Raises provisioning.ProvisioningError when a real login would be refused (the caller audits it).
    """
    config = account.sso_config
    user = provisioning.preview_user(account, email, auto_create=config.auto_create_users)
    name = provisioning.name_from_attributes(attributes, config)
    # A would-be user stays transient (never added to the session), so the dry run sees no memberships.
    candidate = user or User(account_id=account.id, email=normalise_email(email), name=name)
    sync = group_sync.sync_groups(account, candidate, attributes.get(config.group_attribute), config,
                                  max_groups=current_app.config["SAML_MAX_GROUPS"],
                                  max_removals=current_app.config["SAML_MAX_TEAM_REMOVALS"], dry_run=True)
    matched = {"email": candidate.email, "name": user.name if user else name, "exists": user is not None,
               "would_create": user is None}
    teams = {"auto_create_groups": config.auto_create_groups, "skipped": sync.skipped, "created": sync.created,
             "added": sync.added, "removed": sync.removed, "unchanged": sync.unchanged, "held": sync.held,
             "groups": sync.groups, "filtered_out": sync.parse.filtered_out, "dropped": sync.parse.dropped}
    _record(account, tester, "success", "", candidate.email,
            _bounded(reference=reference, test_by=tester.email, sso_enabled=config.enabled, user=matched,
                     teams=teams, sent=sent))


def record_failure(account: AccountView, tester: User, reason: Reason, *, subject: str, reference: str,
                   fix: str, sent: dict, **details) -> None:
    """Record a Test SSO run that a real login would have refused, with the same fix as an sso.login failure."""
    _record(account, tester, "failure", reason.value, subject,
            _bounded(reference=reference, test_by=tester.email, fix=fix, sent=sent, **details))


def find_result(account: AccountView, reference: str) -> SsoTestResult | None:
    """The Test SSO result of account with this reference (another account's answers None, like a missing one)."""
    if not REFERENCE.fullmatch(reference or ""):
        return None
    return db.session.scalar(select(SsoTestResult).where(SsoTestResult.account_id == account.id,
                                                         SsoTestResult.reference == reference))


def last_result(account: AccountView) -> SsoTestResult | None:
    """The account's latest Test SSO run, for the settings page."""
    return db.session.scalar(select(SsoTestResult).where(SsoTestResult.account_id == account.id)
                             .order_by(SsoTestResult.id.desc()).limit(1))


def _record(account: AccountView, tester: User, outcome: str, reason: str, subject: str, details: dict) -> None:
    db.session.add(SsoTestResult(account_id=account.id, reference=details["reference"], tester_email=tester.email,
                                 outcome=outcome, reason=reason, email=subject[:320], details=details))
    audit.record(account, Event.SSO_TEST, actor=tester, outcome=outcome, reason=reason, subject=subject, **details)


def _bounded(**details) -> dict:
    """details with the IdP summary and team lists cut until the whole fits in one audit event."""
    for summary_limit, cap in ((MAX_SUMMARY_CHARS, 50), (4000, 20), (2000, 5), (1000, 0)):
        candidate = dict(details)
        if isinstance(details.get("sent"), dict):
            candidate["sent"] = fit(details["sent"], summary_limit)
        if isinstance(details.get("teams"), dict):
            candidate["teams"] = {k: _names(v, cap) if isinstance(v, list) else v
                                  for k, v in details["teams"].items()}
        if len(json.dumps(candidate, default=str)) <= _MAX_DETAILS:
            return candidate
    return candidate


def _names(names: list, cap: int) -> list:
    return [str(n)[:100] for n in names[:cap]] + ([f"... {len(names) - cap} more"] if len(names) > cap else [])
