"""The Users page: create a user (as `flask users create` does), search by email or name (SQL-side) and paging."""
from __future__ import annotations

from sqlalchemy import select

from portal.directory import users
from portal.extensions import db
from portal.models import AuditEvent, User
from tests.helpers import csrf_token, login

PAGE = "/admin/users"


def _create(client, **data):
    return client.post(PAGE, data={"csrf_token": csrf_token(client, PAGE), **data})


def test_admin_creates_a_user_with_a_role_and_password(admin_client, client, account, admin):
    response = _create(admin_client, email="  Jane@Acme.test ", name="Jane Doe", password="long enough pw",
                       role="Developer")
    jane = User.by_email("jane@acme.test")
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/users/{jane.id}"
    assert jane.account_id == account.id and jane.name == "Jane Doe" and jane.created_via == "admin"
    assert [r.name for r in jane.roles] == ["Developer"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "user.created",
                                                       AuditEvent.subject == "jane@acme.test"))
    assert event.actor_email == admin.email and event.subject == "jane@acme.test"
    other = client.application.test_client()
    assert login(other, "jane@acme.test", "long enough pw").status_code == 302


def test_no_role_is_a_choice_but_not_a_default(admin_client, account):
    refused = _create(admin_client, email="sam@acme.test", role="")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Choose a role, or “No role”." in html
    assert User.by_email("sam@acme.test") is None
    assert _create(admin_client, email="sam@acme.test", role="none").status_code == 302
    assert User.by_email("sam@acme.test").roles == []


def test_refusals_are_shown_next_to_the_field_and_in_a_summary(admin_client, account, other_account):
    cases = [({"email": "not an email", "role": "none"}, "email", "not a valid email address"),
             ({"email": "admin@globex.test", "role": "none"}, "email", "already used"),
             ({"email": "x@acme.test", "password": "short", "role": "none"}, "password", "at least 8 characters"),
             ({"email": "x@acme.test", "role": "Owner"}, "role", "Not a valid choice")]
    for data, field, words in cases:
        response = _create(admin_client, **data)
        html = response.get_data(as_text=True)
        assert response.status_code == 422, data
        assert words in html and f'id="{field}-error"' in html and 'role="alert"' in html, data
        assert f'<a href="#{field}">' in html, data
    assert User.by_email("x@acme.test") is None
    assert User.by_email("admin@globex.test").account_id == other_account.id  # never moved or duplicated


def test_search_by_email_or_name_in_this_account_only(admin_client, account, other_account):
    users.create_user(account, "ann@acme.test", name="Ann Smith")
    users.create_user(account, "bob@acme.test", name="Robert Jones")
    users.create_user(account, "under_score@acme.test")
    users.create_user(other_account, "ann.smith@globex.test", name="Ann Smith")
    db.session.commit()

    def found(query):
        html = admin_client.get(PAGE, query_string={"q": query}).get_data(as_text=True).replace("<wbr>", "")
        html = html[html.index("<main"):]  # the header names the signed-in admin
        return sorted(e for e in ("ann@acme.test", "bob@acme.test", "under_score@acme.test", "admin@acme.test",
                                  "ann.smith@globex.test") if f">{e}</a>" in html)

    assert found("SMITH") == ["ann@acme.test"]  # name, any case; never the other account's
    assert found("bob@") == ["bob@acme.test"]
    assert found("_") == ["under_score@acme.test"]  # LIKE wildcards are matched literally
    assert found("%") == []
    assert found("") == ["admin@acme.test", "ann@acme.test", "bob@acme.test", "under_score@acme.test"]
    assert "No user matches “zzz”." in admin_client.get(PAGE, query_string={"q": "zzz"}).get_data(as_text=True)


def test_search_runs_in_sql_and_pages(app, account):
    for n in range(7):
        users.create_user(account, f"p{n}@acme.test", name="Pager")
    db.session.commit()
    first, total = users.search_users(account, "pager", page=1, per_page=3)
    last, _ = users.search_users(account, "pager", page=3, per_page=3)
    assert total == 7 and [u.email for u in first] == ["p0@acme.test", "p1@acme.test", "p2@acme.test"]
    assert [u.email for u in last] == ["p6@acme.test"]


def test_the_page_links_to_the_next_and_previous_pages(admin_client, account, monkeypatch):
    from portal.admin import views

    monkeypatch.setattr(views, "USERS_PER_PAGE", 2)
    for n in range(5):
        users.create_user(account, f"p{n}@acme.test")
    db.session.commit()
    html = admin_client.get(PAGE, query_string={"q": "p", "page": 2}).get_data(as_text=True)
    assert "page 2 of 3" in html and 'href="/admin/users?q=p&amp;page=1" rel="prev"' in html
    assert 'href="/admin/users?q=p&amp;page=3" rel="next"' in html
    assert admin_client.get(PAGE, query_string={"page": "x"}).status_code == 200  # bad page number: page 1
    assert admin_client.get(PAGE, query_string={"page": "-4"}).status_code == 200


def test_member_cannot_create_users(member_client, account):
    response = member_client.post(PAGE, data={"csrf_token": csrf_token(member_client, "/"), "email": "e@acme.test",
                                              "role": "Account admin"})
    assert response.status_code == 403 and User.by_email("e@acme.test") is None
