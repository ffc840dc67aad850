"""End-to-end fixtures: the portal under gunicorn, Debian's Chromium driven by Playwright."""
from __future__ import annotations

import re

import pytest

from devtools.servers import flask, free_port, portal_env, scratch_database, start_gunicorn, stop
from tests.e2e.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, CHROMIUM, OUTPUT


@pytest.fixture(scope="session")
def portal_server(tmp_path_factory):
    """gunicorn (2 workers) on a fresh, migrated database with account acme and its admin."""
    tmp = tmp_path_factory.mktemp("e2e-portal")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with scratch_database(tmp, "e2e") as database_url:
        env = portal_env(database_url, base_url, PORTAL_RATELIMIT_STORAGE_URI="memory://")
        flask(env, "db", "upgrade")
        flask(env, "accounts", "create", "--name", "Acme", "--domain", "acme", "--admin-email", ADMIN_EMAIL,
              "--admin-password", ADMIN_PASSWORD)
        process = start_gunicorn(env, port, tmp / "gunicorn.log")
        try:
            yield {"url": base_url, "env": env, "log": tmp / "gunicorn.log"}
        finally:
            stop(process)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # As root in CI Chromium needs --no-sandbox; background networking off on a closed network.
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    request.node.pages = [page]
    yield page
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        for index, page in enumerate(getattr(item, "pages", [])):
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", item.nodeid)
            try:
                page.screenshot(path=str(OUTPUT / f"{name}-{index}.png"), full_page=True)
            except Exception:  # noqa: BLE001 - a screenshot must never hide the real failure
                pass
