"""Constants and helpers shared by the browser tests and tests/e2e/conftest.py."""
from __future__ import annotations

from pathlib import Path

from devtools.servers import ROOT

CHROMIUM = "/usr/bin/chromium"
OUTPUT = ROOT / "test-output" / "e2e"
ADMIN_EMAIL = "admin@acme.test"
ADMIN_PASSWORD = "e2e-admin-password"


def shot(page, name: str) -> Path:
    """Save a screenshot of a step (kept for failures and for people reviewing the flow)."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
