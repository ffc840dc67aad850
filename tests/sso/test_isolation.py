"""Tenant isolation (DESIGN "Tenant isolation"): what a hostile account (globex: its admin and its IdP)
can send or save must not hurt acme or the portal. Each test replays an attack from issue 14."""
from __future__ import annotations

import time

from portal.extensions import db
from portal.models import User
from portal.sso.setup import settings as service
from portal.sso.setup.settings import SettingsChange


def test_catastrophic_group_filter_runs_in_linear_time(flow, hostile_flow, other_account):
    # The hostile admin saves a pattern that backtracks exponentially in Python's re (2^n steps for
    # "a"*n + "b"); RE2 accepts it and matches in linear time, so the login returns at once.
    service.apply(other_account, SettingsChange(group_filter="(a+)+", auto_create_groups=True))
    db.session.commit()
    started = time.monotonic()
    response = hostile_flow.login("eve@globex.test", groups=["a" * 28 + "b", "aaaa"])
    elapsed = time.monotonic() - started
    assert response.status_code == 303, response.get_data(as_text=True)
    assert elapsed < 5, f"the login took {elapsed:.1f}s"
    assert User.by_email("eve@globex.test") is not None
    assert flow.login("admin@acme.test").status_code == 303  # the other account still logs in
