"""The IdP Metadata URL against a real HTTPS server on loopback: first fetch, rollover with no failed login,
removal after the grace period, failures audited and shown, CLI and page."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, utcnow
from portal.sso.setup import metadata_url, settings
from tests.helpers import csrf_token
from tests.sso.helpers import Flow, sso_events
from tests.sso.setup.https_server import MetadataServer, idp_metadata

PAGE = "/settings/security/sso"


@pytest.fixture
def app_config(request, test_ca):
    """The local try-out (base URL on loopback, so the loopback test server may be fetched), trusting the test CA;
    a test's indirect parameter adds settings."""
    return {"BASE_URL": "http://127.0.0.1:5000", "METADATA_CA_BUNDLE": test_ca.ca_path, "METADATA_FETCH_TIMEOUT": 1,
            **getattr(request, "param", {})}


@pytest.fixture
def keys(idp_keys):
    return idp_keys["main"], idp_keys["second"]


@pytest.fixture
def published(metadata_server, idp, keys):
    """Serve the test IdP's metadata with its main key; returns a function that republishes with other keys."""
    def publish(*pairs, **options):
        return metadata_server.serve("/metadata", idp_metadata(idp, list(pairs), **options))
    publish(keys[0])
    return publish


def events(event_type):
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)
                                   .order_by(AuditEvent.id)))


def fingerprints(account):
    db.session.expire_all()
    return {c.subject: c for c in settings.active_certificates(account)}


def sso(runner, *args):
    return runner.invoke(args=["sso-config", *args])


def save_url(account, url, now=None):
    result = metadata_url.set_url(account, url, now=now)
    db.session.commit()
    return result


def test_first_fetch_fills_the_idp_settings(account, idp, published, metadata_server):
    save_url(account, metadata_server.url())
    config = settings.get_config(account)
    assert (config.idp_metadata_url, config.idp_issuer, config.idp_login_url) == \
        (metadata_server.url(), idp.issuer, idp.sso_url)
    [cert] = settings.active_certificates(account)
    assert cert.subject == "O=Portal test IdP,CN=Okta test"
    assert cert.last_seen_in_metadata_at == config.metadata_refreshed_at
    assert config.metadata_refresh_error is None
    assert [e.details["new"] for e in events("sso.metadata_url_set")] == [metadata_server.url()]
    assert events("sso.metadata_refreshed")[0].details["added"] == [cert.sha256_fingerprint]


def test_rollover_login_with_the_new_key_works_right_after_the_refresh(client, account, idp, keys, published,
                                                                       metadata_server, runner):
    save_url(account, metadata_server.url())
    settings.apply(account, settings.SettingsChange(enabled=True))
    db.session.commit()
    flow = Flow(client, idp, account)
    assert flow.login().status_code in (302, 303)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    published(keys[0], keys[1])  # the IdP adds its next key
    result = sso(runner, "refresh-metadata", "acme")
    assert result.exit_code == 0 and "added 1" in result.output, result.output
    assert flow.login(key=keys[1]).status_code in (302, 303)  # signed with the new key, at once
    assert sso_events(account, "failure") == []
    assert len(sso_events(account, "success")) == 2


def test_a_certificate_gone_from_the_metadata_is_removed_only_after_the_grace_period(client, account, idp, keys,
                                                                                    published, metadata_server,
                                                                                    runner):
    now = utcnow()
    published(keys[0], keys[1])
    save_url(account, metadata_server.url(), now=now)
    published(keys[1])  # the IdP finished its rollover: the old key is gone
    result = metadata_url.refresh(account, now=now + timedelta(hours=1))
    db.session.commit()
    assert len(fingerprints(account)) == 2 and result.outcome.removed == []
    [(old, after)] = metadata_url.pending_removal(account)
    assert old.subject == "O=Portal test IdP,CN=Okta test" and after == now + timedelta(days=7)
    check = sso(runner, "check", "acme")
    assert "NOTE:" in check.output and old.sha256_fingerprint in check.output
    metadata_url.refresh(account, now=now + timedelta(days=7) - timedelta(seconds=1))
    db.session.commit()
    assert len(fingerprints(account)) == 2  # still inside the grace period
    outcome = metadata_url.refresh(account, now=now + timedelta(days=7)).outcome
    db.session.commit()
    assert outcome.removed == [old.sha256_fingerprint]
    assert [c.subject for c in settings.active_certificates(account)] == ["O=Portal test IdP,CN=Okta test (rotated)"]
    assert events("sso.certificate_removed")[-1].subject == old.sha256_fingerprint
    assert metadata_url.pending_removal(account) == []
    settings.apply(account, settings.SettingsChange(enabled=True))
    db.session.commit()
    flow = Flow(client, idp, account)
    assert flow.login(key=keys[0]).status_code == 400  # the dropped key no longer signs in
    assert sso_events(account, "failure")[-1].reason == "signature_invalid"


def test_grace_days_come_from_the_config(app, account, keys, published, metadata_server):
    app.config["CERT_GRACE_DAYS"] = 2
    now = utcnow()
    published(keys[0], keys[1])
    save_url(account, metadata_server.url(), now=now)
    published(keys[1])
    metadata_url.refresh(account, now=now + timedelta(days=2))
    assert len(settings.active_certificates(account)) == 1


def test_a_manual_certificate_gets_the_full_grace_period_from_the_first_refresh(account, keys, published,
                                                                                metadata_server, valid_cert):
    settings.apply(account, settings.SettingsChange(add_certificates=[valid_cert.pem]))
    now = utcnow()
    save_url(account, metadata_server.url(), now=now)
    assert len(settings.active_certificates(account)) == 2
    metadata_url.refresh(account, now=now + timedelta(days=6))
    assert len(settings.active_certificates(account)) == 2
    metadata_url.refresh(account, now=now + timedelta(days=7))
    assert [c.sha256_fingerprint for c in settings.active_certificates(account)] != [valid_cert.sha256]
    assert len(settings.active_certificates(account)) == 1


def test_issuer_and_login_url_changes_are_applied_and_audited(account, idp, keys, published, metadata_server):
    save_url(account, metadata_server.url())
    published(keys[0], issuer="http://www.okta.com/exkNEW", sso_url="https://acme.okta.com/new/sso/saml")
    result = metadata_url.refresh(account)
    db.session.commit()
    config = settings.get_config(account)
    assert (config.idp_issuer, config.idp_login_url) == ("http://www.okta.com/exkNEW",
                                                         "https://acme.okta.com/new/sso/saml")
    assert set(result.outcome.changes) == {"idp_issuer", "idp_login_url"}
    assert events("sso.metadata_refreshed")[-1].details["changes"] == ["idp_issuer", "idp_login_url"]


def test_nothing_changed_is_not_audited_as_a_change(account, published, metadata_server):
    save_url(account, metadata_server.url())
    assert not metadata_url.refresh(account).changed
    assert len(events("sso.metadata_refreshed")) == 1


FAILURES = {
    "http_404": ("/gone", "metadata_http_status", "HTTP 404"),
    "wrong_content": ("/html", "metadata_invalid", "not SAML 2.0 metadata"),
    "too_large": ("/big", "metadata_too_large", "larger than"),
    "timeout": ("/slow", "metadata_timeout", "did not answer"),
    "entities": ("/xxe", "metadata_invalid", "DOCTYPE or ENTITY"),
}


@pytest.fixture
def failing(metadata_server):
    metadata_server.serve("/html", "<html><body>Sign in</body></html>")
    metadata_server.serve("/big", b"<" * (1024 * 1024 + 1))
    metadata_server.serve("/slow", "<x/>", delay=2)
    metadata_server.serve("/xxe", '<?xml version="1.0"?><!DOCTYPE md [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                                  '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
                                  'entityID="&e;"/>')


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_refresh_failures_are_audited_shown_and_change_nothing(case, runner, admin_client, account, idp, published,
                                                               metadata_server, failing):
    save_url(account, metadata_server.url())
    before = fingerprints(account)
    path, reason, text = FAILURES[case]
    config = settings.get_config(account)
    config.idp_metadata_url = metadata_server.url(path)
    db.session.commit()
    result = sso(runner, "refresh-metadata", "acme")
    assert result.exit_code == 1 and reason in result.output and text in result.output, result.output
    failure = events("sso.metadata_refresh_failed")[-1]
    assert (failure.outcome, failure.reason) == ("failure", reason) and text in failure.details["problem"]
    assert fingerprints(account).keys() == before.keys()
    config = settings.get_config(account)
    assert (config.idp_issuer, config.metadata_refresh_reason) == (idp.issuer, reason)
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "Failed" in page and reason in page and "Traceback" not in page
    check = sso(runner, "check", "acme")
    assert check.exit_code == 1 and reason in check.output


def test_tls_failure_is_audited(runner, account, published, metadata_server, other_ca):
    save_url(account, metadata_server.url())
    untrusted = MetadataServer(other_ca)
    try:
        untrusted.serve("/metadata", "<x/>")
        settings.get_config(account).idp_metadata_url = untrusted.url()
        db.session.commit()
        result = sso(runner, "refresh-metadata", "acme")
    finally:
        untrusted.close()
    assert result.exit_code == 1 and "metadata_tls_failed" in result.output
    assert events("sso.metadata_refresh_failed")[-1].reason == "metadata_tls_failed"


def test_a_later_success_clears_the_failure(runner, account, keys, published, metadata_server):
    save_url(account, metadata_server.url())
    metadata_server.routes.pop("/metadata")
    assert sso(runner, "refresh-metadata", "acme").exit_code == 1
    assert sso(runner, "check", "acme").exit_code == 1
    published(keys[0])
    assert sso(runner, "refresh-metadata", "acme").exit_code == 0
    assert settings.get_config(account).metadata_refresh_error is None
    assert sso(runner, "check", "acme").exit_code == 0


def test_refresh_all_refreshes_every_account_with_a_url_and_exits_1_when_one_failed(runner, account, other_account,
                                                                                   published, metadata_server):
    save_url(account, metadata_server.url())
    save_url(other_account, metadata_server.url())
    result = sso(runner, "refresh-metadata", "--all")
    assert result.exit_code == 0 and "OK: acme" in result.output and "OK: globex" in result.output
    settings.get_config(other_account).idp_metadata_url = metadata_server.url("/gone")
    db.session.commit()
    result = sso(runner, "refresh-metadata", "--all")
    assert result.exit_code == 1 and "OK: acme" in result.output and "FAILED: globex" in result.output
    assert sso(runner, "refresh-metadata").exit_code == 2  # neither DOMAIN nor --all
    assert sso(runner, "refresh-metadata", "acme", "--all").exit_code == 2


def test_cli_set_show_and_clear(runner, account, idp, published, metadata_server):
    result = sso(runner, "set", "acme", "--idp-metadata-url", metadata_server.url(), "--enable")
    assert result.exit_code == 0, result.output
    shown = json.loads(sso(runner, "show", "acme", "--json").output)
    assert shown["idp_metadata_url"] == metadata_server.url() and shown["enabled"] is True
    assert shown["metadata_refresh"]["ok"] is True and shown["metadata_refresh"]["last_attempt"].endswith("Z")
    assert shown["idp_issuer"] == idp.issuer and len(shown["certificates"]) == 1
    result = sso(runner, "set", "acme", "--idp-metadata-url", "")
    assert result.exit_code == 0, result.output
    shown = json.loads(sso(runner, "show", "acme", "--json").output)
    assert shown["idp_metadata_url"] is None and shown["metadata_refresh"]["ok"] is None
    assert len(shown["certificates"]) == 1  # clearing the URL keeps the certificates it brought
    assert [e.details["new"] for e in events("sso.metadata_url_set")] == [metadata_server.url(), None]


def test_cli_set_refuses_a_url_that_fails_and_saves_nothing(runner, account, metadata_server):
    result = sso(runner, "set", "acme", "--idp-metadata-url", metadata_server.url("/gone"))
    assert result.exit_code == 1 and "HTTP 404" in result.output
    assert settings.get_config(account).idp_metadata_url is None and settings.active_certificates(account) == []


def test_page_saves_and_refreshes(admin_client, account, idp, keys, published, metadata_server):
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert ">Metadata URL</label>" in page and "Refresh now" not in page
    response = admin_client.post(PAGE, data={"csrf_token": csrf_token(admin_client, PAGE), "section": "metadata_url",
                                                               "idp_metadata_url": metadata_server.url()})
    assert response.status_code == 302
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "Refresh now" in page and "badge ok" in page and idp.issuer in page
    published(keys[0], keys[1])
    response = admin_client.post(f"{PAGE}/metadata-url/refresh", data={"csrf_token": csrf_token(admin_client, PAGE)})
    assert response.status_code == 302
    assert len(settings.active_certificates(account)) == 2


def test_page_shows_a_refused_url_next_to_the_field(admin_client, account, metadata_server):
    response = admin_client.post(PAGE, data={"csrf_token": csrf_token(admin_client, PAGE), "section": "metadata_url",
                                                               "idp_metadata_url": "https://10.0.0.1/metadata"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="idp_metadata_url-error"' in page and "private address" in page
    assert settings.get_config(account).idp_metadata_url is None


def test_page_refresh_failure_is_flashed_and_kept(admin_client, account, published, metadata_server):
    save_url(account, metadata_server.url())
    metadata_server.routes.pop("/metadata")
    response = admin_client.post(f"{PAGE}/metadata-url/refresh", data={"csrf_token": csrf_token(admin_client, PAGE)},
                                 follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "The refresh failed" in page and "metadata_http_status" in page
    assert events("sso.metadata_refresh_failed")[-1].actor_email == "admin@acme.test"


@pytest.mark.parametrize("app_config", [{"METADATA_FETCH_LIMIT": "2 per minute"}], indirect=True)
def test_page_fetches_are_limited_per_account(admin_client, account, published, metadata_server):
    """Saving a URL and Refresh now both fetch: past the account's limit the page says when to retry, and nothing
    is fetched (an admin cannot make the portal hammer a server)."""
    form = {"csrf_token": csrf_token(admin_client, PAGE), "section": "metadata_url",
            "idp_metadata_url": metadata_server.url()}
    assert admin_client.post(PAGE, data=form).status_code == 302
    refresh = f"{PAGE}/metadata-url/refresh"
    assert admin_client.post(refresh, data={"csrf_token": form["csrf_token"]}).status_code == 302
    fetched = len(metadata_server.requests)
    page = admin_client.post(refresh, data={"csrf_token": form["csrf_token"]}, follow_redirects=True)
    assert "fetched too often" in page.get_data(as_text=True)
    response = admin_client.post(PAGE, data=form)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "fetched too often" in response.get_data(as_text=True)
    assert len(metadata_server.requests) == fetched
    assert not events("sso.metadata_refresh_failed")


@pytest.mark.parametrize("app_config", [{"METADATA_FETCH_LIMIT": "2 per minute"}], indirect=True)
def test_urls_refused_before_any_fetch_do_not_use_up_the_limit(admin_client, account, published, metadata_server):
    token = csrf_token(admin_client, PAGE)
    for refused in ("ftp://x", "http://example.com/m", "not a url", "https://a b/", "ftp://y"):
        response = admin_client.post(PAGE, data={"csrf_token": token, "section": "metadata_url",
                                                 "idp_metadata_url": refused})
        assert response.status_code == 422 and "fetched too often" not in response.get_data(as_text=True)
    response = admin_client.post(PAGE, data={"csrf_token": token, "section": "metadata_url",
                                             "idp_metadata_url": metadata_server.url()})
    assert response.status_code == 302 and settings.get_config(account).idp_metadata_url == metadata_server.url()
