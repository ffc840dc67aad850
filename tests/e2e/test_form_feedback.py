"""A failed save on the SSO page is seen without scrolling: the error summary has focus and is in the viewport."""
from __future__ import annotations

import pytest

from tests.e2e.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, shot

pytestmark = pytest.mark.e2e
SSO_PAGE = "/settings/security/sso"


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844)])
def test_failed_save_focuses_the_summary_in_view(portal_server, browser, request, width, height):
    url = portal_server["url"]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(15_000)
    request.node.pages = [page]
    try:
        page.goto(url + "/login")
        page.get_by_label("Email").fill(ADMIN_EMAIL)
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Log in", exact=True).click()
        page.wait_for_url(url + "/")
        page.goto(url + SSO_PAGE)
        page.get_by_label("IdP Login URL").fill("http://acme.okta.com/app/sso/saml")  # https required
        page.get_by_role("button", name="Save SSO settings").click()
        page.wait_for_load_state()
        shot(page, f"form-feedback-refused-{width}")

        assert page.url == url + SSO_PAGE  # the page's own URL: a reload never gives 405
        summary = page.locator("[data-error-summary]")
        assert summary.get_attribute("role") == "alert" and summary.get_attribute("tabindex") == "-1"
        page.wait_for_function("document.activeElement && document.activeElement.hasAttribute('data-error-summary')")
        box = summary.bounding_box()
        assert box is not None and 0 <= box["y"] and box["y"] + min(box["height"], 60) <= height, box
        assert "must use https://" in summary.inner_text()
        assert page.locator("#idp_login_url").get_attribute("aria-invalid") == "true"

        summary.get_by_role("link").first.click()  # the link leads to the bad field
        assert page.evaluate("location.hash") == "#idp_login_url"
        assert page.goto(page.url.split("#")[0]).status == 200
    finally:
        context.close()
