"""The audit log's Reference column and filter (the code a failure page shows) and its readable details."""
from __future__ import annotations

from markupsafe import Markup

from portal.admin.display import breakable, detail_lines
from portal.audit import log as audit_log
from tests.admin.helpers import add_event


def _rows(html: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split('id="event-')[1:]]


def test_reference_filter_finds_the_failure_the_user_quotes(admin_client, account, other_account):
    wanted = add_event(account, "login.saml", outcome="failure", reason="audience_mismatch",
                       reference="SSO-ABCD2345", fix="Set the Audience URI.")
    add_event(account, "login.saml", outcome="failure", reason="audience_mismatch", reference="SSO-ZZZZ9999")
    add_event(other_account, "login.saml", outcome="failure", reference="SSO-ABCD2345", secret="globex-only")
    html = admin_client.get("/admin/audit", query_string={"reference": " sso-abcd2345 "}).get_data(as_text=True)
    assert _rows(html) == [str(wanted.id)]  # case and spaces forgiven; another account's never shown
    assert "globex-only" not in html
    assert 'value="SSO-ABCD2345"' in html or 'value=" sso-abcd2345 "' in html
    assert "reference=SSO-ABCD2345" in html  # export links keep the filter
    rows = list(audit_log.iter_events(account, audit_log.make_filters(reference="sso-abcd2345")))
    assert [e["id"] for batch in rows for e in batch] == [wanted.id]


def test_the_reference_column_links_to_its_filter(admin_client, account):
    add_event(account, "login.saml", outcome="failure", reference="SSO-ABCD2345")
    html = admin_client.get("/admin/audit").get_data(as_text=True)
    assert '<th scope="col">Reference</th>' in html
    assert '<a class="mono" href="/admin/audit?reference=SSO-ABCD2345">SSO-ABCD2345</a>' in html


def test_a_malformed_reference_is_explained_not_a_500(admin_client, account):
    response = admin_client.get("/admin/audit", query_string={"reference": "'; drop table audit_event"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "A reference looks like SSO-AB3DE5FG" in html
    assert 'id="reference-error"' in html
    assert admin_client.get("/admin/audit/export.csv", query_string={"reference": "x"}).status_code == 400


def test_details_are_key_value_lines_not_json(admin_client, account):
    add_event(account, "user.deactivated", before={"active": True}, after={"active": False}, sessions_ended=2,
              roles=["Developer", "Billing"], note=None)
    html = admin_client.get("/admin/audit").get_data(as_text=True).replace("<wbr>", "")
    for line in ("<dt>before.active</dt><dd>yes</dd>", "<dt>after.active</dt><dd>no</dd>",
                 "<dt>sessions_ended</dt><dd>2</dd>", "<dt>roles</dt><dd>Developer, Billing</dd>",
                 "<dt>note</dt><dd>—</dd>"):
        assert line in html, line
    assert "&#34;active&#34;" not in html  # no raw JSON


def test_detail_lines_and_wrap_points():
    assert detail_lines({"fix": "x", "reference": "SSO-1", "b": {"c": {"d": 1}}, "a": ""}) == [("a", "—"),
                                                                                             ("b.c.d", "1")]
    assert detail_lines({"nested": [{"k": 1}]}) == [("nested", '[{"k": 1}]')]
    assert breakable("127.0.0.1") == Markup("127.<wbr>0.<wbr>0.<wbr>1")  # at separators, not per character
    assert breakable("https://x.test/a?b=<c>&d") == Markup(
        "https:<wbr>/<wbr>/<wbr>x.<wbr>test/<wbr>a?<wbr>b=<wbr>&lt;c&gt;&amp;<wbr>d")  # escaped, never broken inside
    assert breakable(None) == Markup("") and breakable("plainword") == Markup("plainword")


def test_the_reference_filter_reads_its_index(app, account):
    """At many events, a reference lookup goes through ix_audit_event_account_reference_id (the filter's SQL is the
    indexed expression's text), not through every event of the account."""
    from sqlalchemy import insert, text

    from portal.extensions import db
    from portal.models import AuditEvent, utcnow

    rows = [{"account_id": account.id, "time": utcnow(), "event_type": "login.saml", "outcome": "failure",
             "details": {"reference": f"SSO-{n:08d}"} if n % 10 == 0 else {"n": n}} for n in range(5000)]
    db.session.execute(insert(AuditEvent), rows)
    db.session.commit()
    query = audit_log._query(account.id, audit_log.make_filters(reference="SSO-00000100"), None, None, 51)
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE audit_event"))
            plan = "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {compiled}")))
        else:
            conn.execute(text("ANALYZE"))
            plan = "\n".join(r[-1] for r in conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_audit_event_account_reference_id" in plan, plan
    events = audit_log.page(account, audit_log.make_filters(reference="sso-00000100")).events
    assert len(events) == 1 and "SSO-00000100" in str(events[0])
