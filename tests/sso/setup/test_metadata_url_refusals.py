"""Outside the local try-out (an https base URL), a Metadata URL at an internal address is refused before any
connection, on the page and in the CLI, and nothing is saved."""
from __future__ import annotations

import pytest

from portal.sso.setup import fetch as fetch_module
from portal.sso.setup import settings
from tests.helpers import csrf_token

PAGE = "/settings/security/sso"


@pytest.fixture
def app_config(test_ca):
    return {"METADATA_CA_BUNDLE": test_ca.ca_path}  # base URL https://portal.test: not the try-out


@pytest.fixture
def no_connection(monkeypatch):
    def refuse(address, port, timeout):
        raise AssertionError(f"the fetch connected to {address}")
    monkeypatch.setattr(fetch_module, "connect", refuse)


@pytest.fixture
def resolver(monkeypatch):
    answers = {"metadata.example.com": ["10.20.30.40"], "rebind.example.com": ["93.184.216.34", "127.0.0.1"],
               "localhost": ["127.0.0.1"]}
    monkeypatch.setattr(fetch_module, "resolve", lambda host, port: answers[host])


@pytest.mark.parametrize("url", ["https://10.0.0.1/m", "https://192.168.1.1/m", "https://169.254.169.254/latest",
                                 "https://127.0.0.1/m", "https://[::1]/m", "https://0.0.0.0/m",
                                 "https://localhost/m", "https://metadata.example.com/m",
                                 "https://rebind.example.com/m"])
def test_cli_set_refuses_internal_addresses(runner, account, url, no_connection, resolver):
    result = runner.invoke(args=["sso-config", "set", "acme", "--idp-metadata-url", url])
    assert result.exit_code == 1 and "public addresses" in result.output, result.output
    assert settings.get_config(account).idp_metadata_url is None


def test_loopback_test_server_is_refused_outside_the_try_out(runner, account, metadata_server):
    url = metadata_server.serve("/metadata", "<x/>")
    result = runner.invoke(args=["sso-config", "set", "acme", "--idp-metadata-url", url])
    assert result.exit_code == 1 and "loopback address" in result.output
    assert metadata_server.requests == []


def test_http_is_refused_outside_the_try_out(runner, account, no_connection):
    result = runner.invoke(args=["sso-config", "set", "acme", "--idp-metadata-url", "http://127.0.0.1:5001/m"])
    assert result.exit_code == 1 and "https://" in result.output


def test_page_refuses_and_keeps_the_value(admin_client, account, no_connection):
    response = admin_client.post(PAGE, data={"csrf_token": csrf_token(admin_client, PAGE), "section": "metadata_url",
                                                               "idp_metadata_url": "https://169.254.169.254/x"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "link-local address" in page
    assert 'value="https://169.254.169.254/x"' in page
    assert settings.get_config(account).idp_metadata_url is None


def test_page_needs_the_csrf_token(admin_client, account, no_connection):
    response = admin_client.post(PAGE, data={"section": "metadata_url", "idp_metadata_url": "https://idp.example.com/m"})
    assert response.status_code in (200, 400)
    assert settings.get_config(account).idp_metadata_url is None
