"""Security headers: each once on every answer (pages and SCIM), a view's own value kept."""
from __future__ import annotations

from flask import Response

NAMES = ["Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy",
         "Cross-Origin-Opener-Policy", "Strict-Transport-Security"]


def test_every_header_once_on_pages_and_on_scim_answers(client):
    page, scim = client.get("/login"), client.get("/scim/v2/acme/Users")
    assert scim.status_code == 401
    for response in (page, scim):
        assert [len(response.headers.getlist(name)) for name in NAMES] == [1] * len(NAMES), response.headers
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"  # the tests' BASE_URL is https
    assert page.headers["Cache-Control"] == "no-store" and "Cache-Control" not in scim.headers


def test_no_hsts_on_plain_http(app, client):
    app.config["BASE_URL"] = "http://127.0.0.1:5000"
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_a_views_own_value_wins(app, client):
    def own():
        return Response("<p>x</p>", mimetype="text/html", headers={
            "Content-Security-Policy": "default-src 'none'", "Cache-Control": "private, max-age=5"})
    app.add_url_rule("/_own_headers", "own_headers", own)
    response = client.get("/_own_headers")
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert response.headers.getlist("Cache-Control") == ["private, max-age=5"]
    assert response.headers["X-Frame-Options"] == "DENY"
