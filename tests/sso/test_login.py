"""SP-initiated SSO login end to end: portal → pysaml2 test IdP → ACS → dashboard."""
from __future__ import annotations

from portal.models import User
from tests.sso.conftest import sso_events


def test_happy_path_lands_on_dashboard(flow, client, admin):
    response = flow.login("admin@acme.test")
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "admin@acme.test" in page.get_data(as_text=True) or "Acme" in page.get_data(as_text=True)
    events = sso_events(flow.account)
    assert [e.outcome for e in events] == ["success"]
