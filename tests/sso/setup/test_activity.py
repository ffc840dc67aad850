"""SSO logins per day (the SSO page's chart), the setup steps' done state and the fix texts as HTML."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event

from portal.extensions import db
from portal.models import AuditEvent, SsoTestResult
from portal.sso.reasons import Reason
from portal.sso.setup import activity, views
from portal.sso.setup import settings as service
from portal.sso.setup.fixes import fix_html
from portal.sso.setup.settings import SettingsChange
from tests.sso.helpers import OKTA_ISSUER, OKTA_SSO_URL

PAGE = "/settings/security/sso"
NOW = datetime(2026, 3, 31, 12, 0)


def add_login(account, when: datetime, outcome: str = "success", reason: str = "", event_type: str = "sso.login"):
    db.session.add(AuditEvent(account_id=account.id, time=when, event_type=event_type, outcome=outcome,
                              reason=reason, subject="someone@acme.test", details={}))


@pytest.fixture
def history(account, other_account):
    """Logins of acme over 40 days, plus noise that must not count."""
    for _ in range(3):
        add_login(account, NOW - timedelta(hours=1))
    add_login(account, NOW.replace(hour=0, minute=0), "failure", "audience_mismatch")
    add_login(account, NOW - timedelta(days=1, hours=3), "failure", "audience_mismatch")
    add_login(account, NOW - timedelta(days=1, hours=4), "failure", "signature_invalid")
    add_login(account, NOW - timedelta(days=29), "success")  # the first day of the window
    add_login(account, NOW - timedelta(days=30), "failure", "expired")  # one day too old
    add_login(account, NOW - timedelta(hours=2), "failure", "issuer_mismatch", event_type="sso.test")  # a test
    add_login(other_account, NOW - timedelta(hours=1), "failure", "signature_invalid")  # another account
    db.session.commit()


def test_daily_counts_and_reasons(account, history):
    logins = activity.daily_logins(account, NOW)
    assert len(logins.days) == 30
    assert logins.days[0].day.isoformat() == "2026-03-02" and logins.days[-1].day.isoformat() == "2026-03-31"
    assert (logins.days[-1].successes, logins.days[-1].failures) == (3, 1)
    assert (logins.days[-2].successes, logins.days[-2].failures) == (0, 2)
    assert (logins.days[0].successes, logins.days[0].failures) == (1, 0)
    assert sum(d.successes + d.failures for d in logins.days[1:-2]) == 0
    assert (logins.successes, logins.failures) == (4, 3)
    assert logins.reasons == [("audience_mismatch", 2), ("signature_invalid", 1)]
    assert logins.peak == 4


def test_one_query_per_page_view(app, account, history):
    assert account.id  # loaded before counting: the page has its account already
    statements = []

    def listener(_conn, _cursor, statement, *_rest):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        activity.daily_logins(account, NOW)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 1 and "GROUP BY" in statements[0].upper(), statements


def test_bars_are_stacked_and_scaled(account, history):
    bars = activity.daily_logins(account, NOW).bars()
    last = [b for b in bars if b.title.startswith("2026-03-31")]
    success, failure = sorted(last, key=lambda b: b.kind, reverse=True)
    assert success.kind == "success" and failure.kind == "failure"
    assert success.height == pytest.approx(3 * failure.height)
    assert success.height + failure.height == pytest.approx(activity.PLOT_HEIGHT)  # the busiest day fills it
    assert failure.y + failure.height == pytest.approx(success.y)  # failures on top of successes
    assert success.title == "2026-03-31: 3 successful SSO logins"
    assert all(b.x >= activity.LEFT and b.x + b.width <= activity.WIDTH for b in bars)


def test_page_shows_the_chart_and_the_reasons(admin_client, account, history, monkeypatch):
    monkeypatch.setattr(views, "utcnow", lambda: NOW)
    page = admin_client.get(PAGE).get_data(as_text=True)
    start = page.index('<article id="sso-logins-per-day"')
    chart = page[start:page.index("</article>", start)]
    svg = re.search(r"<svg[^>]*>", chart).group(0)
    assert 'role="img"' in svg and "style=" not in chart
    assert re.search(r"<title[^>]*>SSO logins per day", chart)
    assert chart.count('<rect class="bar success"') == 2 and chart.count('<rect class="bar failure"') == 2
    assert "<title>2026-03-30: 2 failed SSO logins</title>" in chart
    reasons = re.findall(r'<li><span class="mono">([a-z_]+)</span>: (\d+)</li>', chart)
    assert reasons == [("audience_mismatch", "2"), ("signature_invalid", "1")]
    assert "4 successful" in chart and "3 failed" in chart


def test_page_without_logins_says_so(admin_client, account):
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "No failed SSO login in the last 30 days." in page and '<rect class="bar' not in page


def steps(page: str) -> dict[int, bool]:
    nav = page[page.index('<nav aria-label="Setup steps"'):]
    nav = nav[:nav.index("</nav>")]
    marks = re.findall(r'<li class="(done|todo)"><a href="#step-(\d)">', nav)
    return {int(number): mark == "done" for mark, number in marks}


def test_steps_done_as_the_admin_goes(admin_client, account, valid_cert):
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert steps(page) == {1: True, 2: False, 3: False, 4: False, 5: False}
    for number in range(1, 6):
        assert re.search(rf'<article id="step-{number}">\s*<header>\s*<h2>{number}\. ', page), number
    service.apply(account, SettingsChange(idp_login_url=OKTA_SSO_URL, idp_issuer=OKTA_ISSUER))
    db.session.commit()
    assert steps(admin_client.get(PAGE).get_data(as_text=True)) == {1: True, 2: True, 3: False, 4: False, 5: False}
    service.apply(account, SettingsChange(add_certificates=[valid_cert.pem]))
    db.session.add(SsoTestResult(account_id=account.id, reference="SSO-AAAAAAAA", tester_email="admin@acme.test",
                                 outcome="failure", reason="audience_mismatch", email="admin@acme.test", details={}))
    db.session.commit()
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert steps(page) == {1: True, 2: True, 3: True, 4: False, 5: False}  # a failed test is not done
    db.session.add(SsoTestResult(account_id=account.id, reference="SSO-BBBBBBBB", tester_email="admin@acme.test",
                                 outcome="success", reason="", email="admin@acme.test", details={}))
    db.session.commit()
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert steps(page) == {1: True, 2: True, 3: True, 4: True, 5: False}
    assert "Test SSO passed. Enable SSO" in page and 'href="#step-5"' in page
    service.apply(account, SettingsChange(enabled=True))
    db.session.commit()
    assert all(steps(admin_client.get(PAGE).get_data(as_text=True)).values())


def test_fix_text_shows_code_as_code_and_links_the_users_page(app):
    fix = Reason.USER_NOT_FOUND.fix_for({"email": "a`b@acme.test"})
    with app.test_request_context():
        html = str(fix_html(fix))
    assert "`" not in html
    assert '<a href="/admin/users">the Users page</a>' in html
    assert "<code>a</code>b@acme.test, but" in html  # the unpaired backtick left over is dropped
    with app.test_request_context():
        assert str(fix_html("Set `<b>x</b>` now")) == "Set <code>&lt;b&gt;x&lt;/b&gt;</code> now"  # escaped


@pytest.mark.parametrize("reason", list(Reason))
def test_every_fix_renders_without_backticks(app, reason):
    with app.test_request_context():
        assert "`" not in str(fix_html(reason.fix_for({})))


def test_nameid_fix_is_not_self_contradictory():
    fix = Reason.NAMEID_NOT_EMAIL.fix_for({"received_nameid": "anna", "received_nameid_format": "unspecified",
                                           "nameid_problem": "not in the emailAddress format"})
    assert "was refused: not in the emailAddress format" in fix
    assert "if it already is, correct the user's email" in fix


def test_failures_counted_in_a_flood_are_failures_too(account, history):
    """Past the per-minute rate, unsigned posts are one tallied event per minute: its count joins the chart."""
    for minute, count in ((1, 40), (2, 7)):
        db.session.add(AuditEvent(account_id=account.id, time=NOW - timedelta(minutes=minute), outcome="failure",
                                  event_type="sso.login_failures_counted", subject=f"2026-03-31T11:5{minute}",
                                  details={"window": "", "count": count, "last_reason": "signature_missing"}))
    db.session.commit()
    logins = activity.daily_logins(account, NOW)
    assert (logins.days[-1].successes, logins.days[-1].failures) == (3, 1 + 47)
    assert logins.reasons[0] == (activity.COUNTED_REASON, 47)
