"""Every page in a real browser at 1280 and 390 px: axe-core finds no critical, serious or moderate violation, no page
scrolls sideways at 390 px, the skip link is the first Tab stop, and destructive actions need their confirmation step.

axe-core is pinned by package.json/package-lock.json and installed by `make test` (npm ci); screenshots of every
page at both widths go to test-output/e2e/pages/.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from devtools.servers import ROOT, flask, free_port, portal_env, scratch_database, start_gunicorn, stop
from tests.e2e.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, OUTPUT
from tests.sso.helpers import make_cert

pytestmark = pytest.mark.e2e
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING_IMPACTS = {"critical", "serious", "moderate"}
WIDTHS = (1280, 390)
SHOTS = OUTPUT / "pages"
TEST_REFERENCE = "SSO-AXEPAGES"

# Rows every page needs, written through the portal's own services in one process.
SETUP = """
import json, sys
from sqlalchemy import select
from portal import create_app
from portal.directory import teams, users
from portal.extensions import db
from portal.models import Account, User
from portal.scim import tokens
from portal.sso import trial
from portal.sso.reasons import Reason
from portal.sso.setup import settings

app = create_app()
with app.app_context():
    account = db.session.scalar(select(Account).where(Account.domain == "acme"))
    admin = User.by_email(sys.argv[1])
    jane = users.create_user(account, "jane.doe@acme.test", name="Jane Doe", role="Developer", actor=admin)
    team = teams.create_team(account, "Support", actor=admin)
    teams.add_member(account, team, jane.email, actor=admin)
    teams.grant_role(account, team, "Analyst", actor=admin)
    settings.apply(account, settings.SettingsChange(
        idp_login_url="https://acme.okta.com/app/acme_portal_1/exk1a2b3c4d5e6f7g8h9/sso/saml",
        idp_issuer="http://www.okta.com/exk1a2b3c4d5e6f7g8h9", add_certificates=[sys.argv[2]],
        auto_create_users=True, auto_create_groups=True, enabled=True), actor=admin)
    trial.record_failure(account, admin, Reason.AUDIENCE_MISMATCH, subject=jane.email, reference=sys.argv[3],
                         fix="Set Audience URI (SP Entity ID) in Okta to the SP Entity ID shown here.", sent={})
    row, _secret = tokens.create_token(account, "Okta", actor=admin)
    db.session.commit()
    print(json.dumps({"team": team.id, "jane": jane.id, "token": row.id}))
"""


@pytest.fixture(scope="module")
def portal_server(tmp_path_factory):
    """This module's own portal (gunicorn, fresh database): its rows and changes never meet the other e2e tests'."""
    tmp = tmp_path_factory.mktemp("e2e-a11y")
    port = free_port()
    with scratch_database(tmp, "a11y") as database_url:
        env = portal_env(database_url, f"http://127.0.0.1:{port}", PORTAL_RATELIMIT_STORAGE_URI="memory://")
        flask(env, "db", "upgrade")
        flask(env, "accounts", "create", "--name", "Acme", "--domain", "acme", "--admin-email", ADMIN_EMAIL,
              "--admin-password", ADMIN_PASSWORD)
        process = start_gunicorn(env, port, tmp / "gunicorn.log")
        try:
            yield {"url": f"http://127.0.0.1:{port}", "env": env}
        finally:
            stop(process)


@pytest.fixture(scope="module")
def rows(portal_server):
    result = subprocess.run([sys.executable, "-c", SETUP, ADMIN_EMAIL, make_cert().pem, TEST_REFERENCE],
                            cwd=ROOT, env=portal_server["env"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def axe_source():
    assert AXE.exists(), "run `make test` once (its `npm ci` installs axe-core from package-lock.json), or `npm ci`"
    source = AXE.read_text()
    assert source.startswith("/*! axe v4.14."), source[:40]
    return source


@pytest.fixture(scope="module")
def admin_page(browser, portal_server, rows):
    """One signed-in admin tab reused for every page (one login, one browser)."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(portal_server["url"] + "/login")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(portal_server["url"] + "/")
    yield page
    context.close()


@pytest.fixture(scope="module")
def anonymous_page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _admin_pages(rows) -> dict[str, str]:
    return {
        "dashboard": "/", "teams": "/admin/teams", "team": f"/admin/teams/{rows['team']}",
        "users": "/admin/users", "user": f"/admin/users/{rows['jane']}", "audit": "/admin/audit",
        "audit-reference": f"/admin/audit?reference={TEST_REFERENCE}", "account": "/account",
        "sso-settings": "/settings/security/sso", "test-sso-result": f"/settings/security/sso/test/{TEST_REFERENCE}",
        "provisioning": "/settings/security/provisioning",
        "confirm-delete-team": f"/admin/teams/{rows['team']}/delete",
        "confirm-deactivate-user": f"/admin/users/{rows['jane']}/deactivate",
        "confirm-revoke-token": f"/settings/security/provisioning/tokens/{rows['token']}/revoke",
    }


def _sso_failure(page, url):
    """The page a person sees when the ACS refuses a response (posted from the login page, as an IdP would)."""
    page.goto(url + "/login")
    with page.expect_navigation():
        page.evaluate("""(action) => {
            const form = document.createElement("form");
            form.method = "post"; form.action = action;
            const field = document.createElement("input");
            field.type = "hidden"; field.name = "SAMLResponse"; field.value = "bm90IHhtbA==";
            form.appendChild(field); document.body.appendChild(form); form.submit();
        }""", url + "/login/saml/acme/callback")
    assert "Reference" in page.inner_text("main")


def _check(page, name: str, width: int, axe_source: str) -> list[str]:
    """Problems of the page now shown: sideways scroll at 390 px and axe violations; screenshot written."""
    problems = []
    # Checked at both widths: at 1280 too, wide tables scroll inside their own box, never the page.
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll > inner:
        problems.append(f"{name}@{width}: scrolls sideways ({scroll} > {inner} px)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)  # evaluated by the driver, so the page's CSP ('self' only) is untouched
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS)
    for violation in result["violations"]:
        if violation["impact"] in FAILING_IMPACTS:
            targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
            problems.append(f"{name}@{width}: {violation['impact']} {violation['id']}: {violation['help']} {targets}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    return problems


def test_every_page_is_accessible_and_fits_390_px(portal_server, admin_page, anonymous_page, rows, axe_source):
    url = portal_server["url"]
    problems = []
    for width in WIDTHS:
        for page in (admin_page, anonymous_page):
            page.set_viewport_size({"width": width, "height": 900})
        for name, path in _admin_pages(rows).items():
            response = admin_page.goto(url + path)
            assert response.status == 200, (name, response.status)
            problems += _check(admin_page, name, width, axe_source)
        for name, path in (("login", "/login"), ("login-sso", "/login/sso")):
            anonymous_page.goto(url + path)
            problems += _check(anonymous_page, name, width, axe_source)
        _sso_failure(anonymous_page, url)
        problems += _check(anonymous_page, "sso-failure", width, axe_source)
    assert problems == []


def test_skip_link_is_the_first_tab_stop_and_visible(portal_server, admin_page, anonymous_page):
    url = portal_server["url"]
    for page, path in ((admin_page, "/admin/users"), (admin_page, "/settings/security/sso"),
                       (anonymous_page, "/login")):
        page.set_viewport_size({"width": 390, "height": 800})
        page.goto(url + path)
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => { const a = document.activeElement, r = a.getBoundingClientRect();
            return {href: a.getAttribute('href'), text: a.textContent, top: r.top, height: r.height}; }""")
        assert focused["href"] == "#main" and "Skip to main content" in focused["text"], (path, focused)
        assert focused["top"] >= 0 and focused["height"] > 10, (path, focused)  # on screen when focused
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id || document.activeElement.closest('main')?.id") == "main"
        assert page.locator("main#main").count() == 1


def test_focus_ring_is_visible_on_secondary_buttons_and_links(portal_server, admin_page):
    admin_page.set_viewport_size({"width": 1280, "height": 900})
    admin_page.goto(portal_server["url"] + "/admin/users")
    admin_page.keyboard.press("Tab")  # skip link
    admin_page.keyboard.press("Tab")  # first navigation link
    for selector in ("header.site a.brand", "button.secondary.outline"):
        admin_page.focus(selector)
        outline = admin_page.evaluate(f"""() => {{ const s = getComputedStyle(document.querySelector({selector!r}));
            return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }}""")
        assert outline[0] == "solid" and outline[1] == "3px" and outline[2] == "rgb(29, 78, 216)", (selector, outline)


def test_destructive_actions_need_the_confirmation_step(portal_server, admin_page, rows):
    url = portal_server["url"]
    admin_page.set_viewport_size({"width": 390, "height": 900})
    admin_page.goto(f"{url}/admin/users/{rows['jane']}")
    admin_page.get_by_role("button", name="Deactivate user…").click()
    assert admin_page.url == f"{url}/admin/users/{rows['jane']}/deactivate"
    assert "Deactivate jane.doe@acme.test?" in admin_page.inner_text("h1")
    assert "can no longer log in" in admin_page.inner_text("main")
    admin_page.get_by_role("button", name="Cancel").click()
    assert admin_page.url == f"{url}/admin/users/{rows['jane']}"
    assert "active" in admin_page.inner_text("main") and "Deactivated" not in admin_page.inner_text("main")
    # The one-click path: a POST without the step's confirm field changes nothing.
    status = admin_page.evaluate("""async (action) => {
        const token = document.querySelector('input[name=csrf_token]').value;
        const r = await fetch(action, {method: 'POST', body: new URLSearchParams({csrf_token: token})});
        return r.status; }""", f"{url}/admin/users/{rows['jane']}/deactivate")
    assert status == 422
    admin_page.reload()
    assert not re.search(r"\bdeactivated\b", admin_page.inner_text("main p"))
    admin_page.get_by_role("button", name="Deactivate user…").click()
    admin_page.get_by_role("button", name="Deactivate user").click()
    assert admin_page.url == f"{url}/admin/users/{rows['jane']}"
    assert "Deactivated jane.doe@acme.test" in admin_page.inner_text("main")


def test_copy_buttons_say_what_they_copy_and_a_refused_copy_is_explained(portal_server, admin_page):
    admin_page.set_viewport_size({"width": 1280, "height": 900})
    admin_page.goto(portal_server["url"] + "/settings/security/sso")
    names = admin_page.eval_on_selector_all("[data-copy]", "bs => bs.map(b => b.getAttribute('aria-label'))")
    assert names and all(n and n.startswith("Copy ") and len(n) > len("Copy ") for n in names), names
    assert any("ACS URL" in n or "Assertion Consumer Service" in n for n in names), names
    # The browser refuses the clipboard write (permission denied, not focused...): the value is selected instead.
    admin_page.evaluate("""() => { navigator.clipboard.writeText = () => Promise.reject(new Error('denied')); }""")
    button = admin_page.locator("[data-copy]").first
    target = button.get_attribute("data-copy")
    button.click()
    note = admin_page.locator(f"#{target}-copy-status")
    note.wait_for()
    assert note.get_attribute("role") == "alert" and "Ctrl+C" in note.inner_text()
    selected = admin_page.evaluate("""(id) => { const i = document.getElementById(id);
        return [document.activeElement === i, i.value.substring(i.selectionStart, i.selectionEnd) === i.value]; }""",
                                   target)
    assert selected == [True, True]
