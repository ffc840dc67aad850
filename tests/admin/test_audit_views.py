"""The /admin/audit page and its CSV/JSON downloads."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from urllib.parse import urlsplit

from portal.extensions import db
from portal.models import AuditEvent
from tests.admin.helpers import add_event


def test_admin_sees_events_newest_first_with_all_columns(admin_client, account, admin):
    add_event(account, "test.failed", outcome="failure", reason="audience_mismatch", actor=admin,
              subject="jane@acme.test", at=datetime(2026, 3, 10, 8, 5, 9), audience="https://x.test/acme-old")
    html = admin_client.get("/admin/audit").get_data(as_text=True).replace("<wbr>", "")
    assert '<time data-local datetime="2026-03-10T08:05:09Z">2026-03-10 08:05:09 UTC</time>' in html
    assert "audience_mismatch" in html and "jane@acme.test" in html and "test.failed" in html
    assert "<dt>audience</dt><dd>https://x.test/acme-old</dd>" in html  # key: value, not raw JSON
    assert 'src="/static/localtime.js"' in html and "<script>" not in html  # CSP: no inline script
    # login.password of this very sign-in is newer than the back-dated event, so it comes first.
    assert html.index("login.password") < html.index("test.failed")
    assert "127.0.0.1" in html  # the login's IP


def test_member_without_permission_gets_403_and_anonymous_is_sent_to_login(client, member_client, account):
    for path in ("/admin/audit", "/admin/audit/export.csv", "/admin/audit/export.json"):
        response = member_client.get(path)
        assert response.status_code == 403
        assert "view_audit_log" in response.get_data(as_text=True)
    anonymous = client.application.test_client()
    response = anonymous.get("/admin/audit")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def test_other_accounts_events_never_show(admin_client, account, other_account):
    add_event(other_account, "globex.secret", subject="admin@globex.test", secret="globex-only")
    for query in ("", "?email=admin@globex.test", "?type=globex.secret"):
        html = admin_client.get("/admin/audit" + query).get_data(as_text=True).replace("<wbr>", "")
        assert "globex-only" not in html and '<span class="mono">globex.secret</span>' not in html
        assert ('id="event-' in html) is (query == "")  # acme's own events show only without a filter
    body = admin_client.get("/admin/audit/export.json").get_data(as_text=True)
    assert "globex" not in body


def test_filters_from_the_query_string(admin_client, account, admin):
    add_event(account, "test.kept", outcome="warning", subject="pat@acme.test")
    add_event(account, "test.dropped", outcome="success", subject="pat@acme.test")
    html = admin_client.get("/admin/audit?outcome=warning&email=PAT@acme.test&type=").get_data(as_text=True)
    html = html.replace("<wbr>", "")
    assert '<span class="mono">test.kept</span>' in html and '<span class="mono">test.dropped</span>' not in html
    assert '<option selected value="warning">' in html  # the form keeps what was asked


def test_bad_filters_show_field_errors_not_a_500(admin_client, account):
    response = admin_client.get("/admin/audit?since=yesterday&outcome=maybe")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Not a valid date value" in html and "Not a valid choice" in html
    html = admin_client.get("/admin/audit?since=2026-03-02&until=2026-03-01").get_data(as_text=True)
    assert "The end date is before the start date." in html
    assert admin_client.get("/admin/audit?before=abc&after=").status_code == 200
    assert admin_client.get("/admin/audit/export.csv?since=nope").status_code == 400


def test_older_and_newer_links_walk_the_log(admin_client, account):
    for i in range(60):
        add_event(account, "test.page", n=i)
    html = admin_client.get("/admin/audit?type=test.page").get_data(as_text=True)
    first = re.findall(r'id="event-(\d+)"', html)
    older = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert "type=test.page" in older and "before=" in older
    add_event(account, "test.page", n="late")  # arrives between the two page loads
    html2 = admin_client.get(older).get_data(as_text=True)
    second = re.findall(r'id="event-(\d+)"', html2)
    assert len(first) == 50 and len(second) == 10 and not set(first) & set(second)
    assert 'rel="next"' not in html2
    newer = re.search(r'href="([^"]+)" rel="prev"', html2).group(1).replace("&amp;", "&")
    html3 = admin_client.get(newer).get_data(as_text=True)
    # The page just newer than the second one is the first page again; the late event is one page up.
    assert re.findall(r'id="event-(\d+)"', html3) == first
    top = re.search(r'href="([^"]+)" rel="prev"', html3).group(1).replace("&amp;", "&")
    assert len(re.findall(r'id="event-(\d+)"', admin_client.get(top).get_data(as_text=True))) == 50


def test_csv_download_is_filtered_escaped_and_audited(admin_client, account, admin):
    add_event(account, "test.csv", subject="=cmd|' /C calc'!A0", note="@SUM(1)")
    add_event(account, "test.other", subject="not exported")
    response = admin_client.get("/admin/audit/export.csv?type=test.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'attachment; filename="audit-acme.csv"' == response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["subject"] for r in rows] == ["'=cmd|' /C calc'!A0"]
    assert rows[0]["details"] == '{"note":"@SUM(1)"}'
    exported = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event_type == "audit.exported")).one()
    assert exported.actor_email == admin.email and exported.account_id == account.id
    assert exported.details == {"format": "csv", "filters": {"type": "test.csv"}, "via": "web"}


def test_json_download_leaves_out_its_own_event(admin_client, account):
    response = admin_client.get("/admin/audit/export.json")
    assert response.mimetype == "application/json"
    rows = json.loads(response.get_data(as_text=True))
    types = [r["type"] for r in rows]
    assert "login.password" in types and "audit.exported" not in types
    second = json.loads(admin_client.get("/admin/audit/export.json?outcome=success").get_data(as_text=True))
    assert second[0]["type"] == "audit.exported" and second[0]["reason"] == ""


def test_failed_sso_event_shows_its_fix_in_plain_text(admin_client, account):
    from portal import audit
    from portal.extensions import db

    audit.record(account, "sso.login", actor=None, outcome="failure", reason="audience_mismatch", subject="jane@acme.test",
                 fix="Okta sent Audience `https://x/old`; the SP Entity ID is `https://x/new`. Make them match exactly.")
    db.session.commit()
    page = admin_client.get("/admin/audit?type=sso.login").get_data(as_text=True)
    assert ('<p class="fix">Okta sent Audience <code>https://x/old</code>; the SP Entity ID is '
            '<code>https://x/new</code>.') in page  # code as code, no literal backticks
