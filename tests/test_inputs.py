"""Values no field accepts (NUL characters, ids and numbers past the database's range, the last date there is)
are answered with a message on every page and command, never a 500 or a traceback, and change nothing."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import DataError

from portal.audit import log as audit_log
from portal.extensions import db
from portal.sso.setup import settings as sso_settings
from tests.helpers import csrf_token

SSO_PAGE = "/settings/security/sso"
HUGE = "9" * 30


def _idp_values(account):
    db.session.expire_all()
    config = sso_settings.get_config(account)
    return config.idp_login_url, config.idp_issuer, config.auto_create_users


@pytest.mark.parametrize("url", ["/admin/audit?email=a%00b", "/admin/audit?type=a%00", "/admin/users?q=a%00",
                                 "/admin/teams/1%00"])
def test_a_nul_in_a_query_or_path_is_a_400_with_a_message(admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 400 and "NUL character" in response.get_data(as_text=True)


def test_a_nul_in_the_sso_domain_form_is_a_400_before_any_lookup(client):
    response = client.post("/login/sso", data={"csrf_token": csrf_token(client, "/login/sso"), "domain": "a\x00b"})
    assert response.status_code == 400 and "NUL character" in response.get_data(as_text=True)


@pytest.mark.parametrize("field", ["idp_issuer", "idp_login_url", "group_filter"])
def test_a_nul_in_an_sso_setting_changes_nothing(admin_client, account, field):
    before = _idp_values(account)
    data = {"csrf_token": csrf_token(admin_client, SSO_PAGE), "section": "idp", "idp_issuer": "http://www.okta.com/x",
            "idp_login_url": "https://acme.okta.com/app/x/sso/saml", "auto_create_users": "y", field: "a\x00b"}
    response = admin_client.post(SSO_PAGE, data=data)
    assert response.status_code == 400 and "NUL character" in response.get_data(as_text=True)
    assert _idp_values(account) == before


def test_an_sso_post_without_its_section_is_refused_and_changes_nothing(admin_client, account):
    admin_client.post(SSO_PAGE, data={"csrf_token": csrf_token(admin_client, SSO_PAGE), "section": "idp",
                                      "idp_issuer": "http://www.okta.com/x", "auto_create_users": "y",
                                      "idp_login_url": "https://acme.okta.com/app/x/sso/saml"})
    before = _idp_values(account)
    assert before[1] == "http://www.okta.com/x"
    response = admin_client.post(SSO_PAGE, data={"csrf_token": csrf_token(admin_client, SSO_PAGE)})
    assert response.status_code == 400
    assert _idp_values(account) == before  # was: taken as the IdP section, every field emptied


@pytest.mark.parametrize("url", ["/admin/users/2147483648", f"/admin/users/{HUGE}", f"/admin/teams/{HUGE}",
                                 "/admin/teams/2147483648/delete", f"{SSO_PAGE}/certificates/{HUGE}/remove",
                                 f"/settings/security/provisioning/tokens/{HUGE}/revoke"])
def test_an_id_past_the_database_range_is_not_found(admin_client, url):
    assert admin_client.get(url).status_code == 404


@pytest.mark.parametrize("query", [f"before={HUGE}", f"after={HUGE}", f"after=-{HUGE}", f"before=-{HUGE}",
                                   "until=9999-12-31", "since=9999-12-31&until=9999-12-31"])
def test_audit_cursors_and_dates_at_the_edges_answer_a_page(admin_client, query):
    assert admin_client.get(f"/admin/audit?{query}").status_code == 200


def test_the_last_date_there_is_exports(admin_client):
    response = admin_client.get("/admin/audit/export.csv?until=9999-12-31")
    assert response.status_code == 200 and response.get_data(as_text=True).startswith("id,")


def test_a_huge_users_page_is_an_empty_page(admin_client):
    assert admin_client.get("/admin/users?page=4611686018427387904").status_code == 200


def test_a_value_the_database_refuses_is_a_400_and_nothing_is_written(admin_client, monkeypatch):
    """The last line: a DataError no check caught is the user's input, answered 400 (not 500)."""
    def refuse(*_args, **_kwargs):
        raise DataError("SELECT", {}, Exception("value out of range"))
    monkeypatch.setattr(audit_log, "page", refuse)
    response = admin_client.get("/admin/audit")
    assert response.status_code == 400 and "cannot be stored" in response.get_data(as_text=True)


@pytest.mark.parametrize("args", [
    ["sso-config", "show", "\x00"],
    ["sso-config", "set", "acme", "--idp-issuer", "a\x00b"],
    ["scim", "token", "create", "acme", "--name", "a\x00b"],
    ["teams", "add-member", "acme", "T\x00", "member@acme.test"],
    ["audit", "export", "acme", "--email", "a\x00"],
])
def test_a_nul_in_a_command_argument_is_one_line(runner, account, args):
    result = runner.invoke(args=args)
    assert result.exit_code == 2 and "NUL character" in result.output, result.output
    assert "Traceback" not in result.output


def test_commands_at_the_edges_of_numbers_and_dates(runner, account):
    revoke = runner.invoke(args=["scim", "token", "revoke", "acme", "2147483648"])
    assert revoke.exit_code == 1 and "No active SCIM token" in revoke.output
    revoke = runner.invoke(args=["scim", "token", "revoke", "acme", HUGE])
    assert revoke.exit_code == 1 and "No active SCIM token" in revoke.output
    export = runner.invoke(args=["audit", "export", "acme", "--until", "9999-12-31"])
    assert export.exit_code == 0 and export.exception is None, export.output
    prune = runner.invoke(args=["audit", "prune", "--days", "99999999999"])
    assert prune.exit_code == 2 and "36500" in prune.output
    assert audit_log.prune_cutoff(10**9).year >= 1900


def test_an_empty_certificate_file_in_the_idp_section_says_so(admin_client, account):
    import io
    response = admin_client.post(SSO_PAGE, data={
        "csrf_token": csrf_token(admin_client, SSO_PAGE), "section": "idp", "idp_issuer": "http://www.okta.com/x",
        "idp_login_url": "https://acme.okta.com/app/x/sso/saml", "certificate_file": (io.BytesIO(b""), "okta.cert")},
        content_type="multipart/form-data")
    assert response.status_code == 422 and "The certificate is empty" in response.get_data(as_text=True)
    assert sso_settings.get_config(account).idp_issuer in (None, "")


def test_an_upload_over_the_request_cap_says_what_to_check(admin_client):
    # the multipart body built by hand: the test client would spool a dict's big file into a temporary file
    # that the refused request leaves unclosed
    body = (b"--x\r\nContent-Disposition: form-data; name=\"certificate_file\"; filename=\"okta.cert\"\r\n\r\n"
            + b"A" * (2 * 1024 * 1024 + 1) + b"\r\n--x--\r\n")
    response = admin_client.post(SSO_PAGE, data=body, content_type="multipart/form-data; boundary=x")
    page = response.get_data(as_text=True)
    assert response.status_code == 413 and "2 MiB at most" in page and "chose the right file" in page
