"""A person logs in with a password in a real browser against gunicorn."""
import pytest

from tests.e2e.helpers import ADMIN_EMAIL, ADMIN_PASSWORD

pytestmark = pytest.mark.e2e


def test_admin_logs_in_sees_dashboard_and_logs_out(portal_server, page):
    page.goto(portal_server["url"] + "/")
    assert page.url == portal_server["url"] + "/login?next=%2F"
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(portal_server["url"] + "/")
    assert "Account admin" in page.inner_text("main")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    assert "You are signed out." in page.inner_text("main")


def test_wrong_password_is_refused_in_the_browser(portal_server, page):
    page.goto(portal_server["url"] + "/login")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in", exact=True).click()
    assert "Wrong email or password." in page.inner_text("main")
