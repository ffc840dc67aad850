"""The whole SSO journey in a real browser: admin setup, first SSO login, role grant, a failure and its diagnosis.

The portal runs under gunicorn and the test IdP (devtools.idp, pysaml2) as its own web server on another
port, so the IdP's POST to the ACS is a real cross-site request with real SameSite cookie behaviour.
"""
from __future__ import annotations

import subprocess
import sys
import urllib.request

import pytest

from devtools.servers import ROOT, free_port, stop, wait_for_port
from tests.e2e.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, shot

pytestmark = pytest.mark.e2e
NEW_USER = "new.person@acme.test"


@pytest.fixture(scope="module")
def idp_server(tmp_path_factory):
    """The local test IdP as its own process on a free port."""
    tmp = tmp_path_factory.mktemp("e2e-idp")
    port = free_port()
    with open(tmp / "idp.log", "w") as log:
        # "localhost" is another site than the portal's 127.0.0.1: the IdP's POST to the ACS is cross-site.
        process = subprocess.Popen([sys.executable, "-m", "devtools.idp", "--port", str(port), "--key-dir", str(tmp),
                                    "--host-name", "localhost"],
                                   cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process.log_path = str(tmp / "idp.log")
    wait_for_port(port, process)
    base = f"http://localhost:{port}"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/certificate") as response:
        certificate = response.read().decode()
    yield {"url": base, "login_url": f"{base}/sso", "issuer": f"{base}/idp", "certificate": certificate}
    stop(process)


@pytest.fixture
def contexts(browser, request):
    """Separate browser profiles for the admin and for the person logging in with SSO."""
    opened = []

    def new_page():
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(15_000)
        opened.append(context)
        request.node.pages = getattr(request.node, "pages", []) + [page]
        return page

    yield new_page
    for context in opened:
        context.close()


def admin_login(page, url):
    page.goto(url + "/login")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(url + "/")


def sso_login(page, initiation_url, email, groups):
    """Open the SP Initiation URL, sign in at the IdP, continue to the portal."""
    page.goto(initiation_url)
    assert page.url.startswith("http://localhost:")  # another site than the portal on 127.0.0.1
    assert "Sign in to" in page.inner_text("h1")  # the IdP's login page
    page.get_by_label("Email").fill(email)
    page.get_by_label("Groups (comma-separated)").fill(groups)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Continue to the portal").click()
    page.wait_for_load_state()


def test_sso_journey(portal_server, idp_server, contexts):
    url = portal_server["url"]
    admin = contexts()

    # 1. The admin configures SSO on Account settings → Security → Single Sign-On.
    admin_login(admin, url)
    admin.get_by_role("link", name="Account settings").click()
    admin.get_by_label("Custom domain").fill("acme-corp")
    admin.get_by_role("button", name="Save custom domain").click()
    acs_url = admin.input_value("#sp-acs-url")
    entity_id = admin.input_value("#sp-entity-id")
    initiation_url = admin.input_value("#sp-initiation-url")
    assert acs_url == f"{url}/login/saml/acme-corp/callback"
    assert entity_id == initiation_url == f"{url}/login/saml/acme-corp"
    admin.get_by_label("IdP Login URL").fill(idp_server["login_url"])
    admin.get_by_label("Identity Provider Issuer").fill(idp_server["issuer"])
    assert "\n" in idp_server["certificate"].strip()  # pasted as copied, line breaks and all
    admin.get_by_label("IdP Signature Certificate", exact=True).fill(idp_server["certificate"])
    admin.get_by_label("Auto-create users").check()
    admin.get_by_label("Auto-create groups").check()
    admin.get_by_role("button", name="Save SSO settings").click()
    shot(admin, "01-settings-saved")
    assert "SHA-256" in admin.inner_text("main")
    admin.get_by_role("button", name="Enable SSO").click()  # step 5
    assert "Enabled" in admin.inner_text("h1")
    admin.get_by_role("button", name="Log out").click()

    # 2. A person who does not exist yet logs in through the IdP and lands on the dashboard.
    person = contexts()
    sso_login(person, initiation_url, NEW_USER, "Support, Sales")
    assert person.url == url + "/"
    shot(person, "02-first-sso-login")
    dashboard = person.inner_text("main")
    assert NEW_USER in dashboard and "Support" in dashboard and "Sales" in dashboard
    assert "no permissions yet" in dashboard

    # 3. The admin grants a role to Support; the person's dashboard shows it.
    admin_login(admin, url)
    admin.get_by_role("link", name="Teams").click()
    admin.get_by_role("link", name="Support").click()
    assert "members of this team get no permissions until you grant a role" in admin.inner_text("main").lower()
    developer = admin.locator("option", has_text="Developer").get_attribute("value")
    admin.get_by_label("Role").select_option(developer)
    admin.get_by_role("button", name="Grant role").click()
    shot(admin, "03-role-granted")
    person.reload()
    assert "Developer" in person.inner_text("main")

    # 4. A wrong Identity Provider Issuer: the person sees a clear error; the admin sees the mismatch and the fix.
    admin.get_by_role("link", name="Account settings").click()
    admin.get_by_label("Identity Provider Issuer").fill(idp_server["issuer"] + "-typo")
    admin.get_by_role("button", name="Save SSO settings").click()
    other = contexts()
    sso_login(other, initiation_url, NEW_USER, "Support")
    page_text = other.inner_text("main")
    shot(other, "04-sso-refused")
    assert "SSO-" in page_text and "Traceback" not in page_text
    assert other.url.endswith("/login/saml/acme-corp/callback")
    admin.get_by_role("link", name="Account settings").click()
    diagnostics = admin.text_content("main")
    shot(admin, "05-diagnostics")
    assert "issuer_mismatch" in diagnostics
    assert (f"Okta sent Issuer {idp_server['issuer']}; the Identity Provider Issuer configured here is "
            f"{idp_server['issuer']}-typo. Make them match exactly") in diagnostics  # values shown as <code>
    assert admin.locator("p.fix code", has_text=f"{idp_server['issuer']}-typo").count() >= 1
    admin.goto(url + "/admin/audit?type=sso.login&outcome=failure")
    log = admin.text_content("main")  # includes the collapsed details
    shot(admin, "06-audit-log")
    assert "issuer_mismatch" in log
    assert idp_server["issuer"] in log  # what the IdP sent, next to what is configured
