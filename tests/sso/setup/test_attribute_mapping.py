"""Attribute mapping: presets (Okta, Entra ID, Google Workspace) and custom names, on the page, the CLI and at login."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, SsoConfig, Team, User
from portal.sso.setup import attributes
from tests.helpers import csrf_token, login

PAGE = "/settings/security/sso"
ENTRA_GROUPS = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
ENTRA_GIVEN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"
ENTRA_SURNAME = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"


def mapping(account) -> dict:
    db.session.expire_all()
    return attributes.describe(db.session.get(SsoConfig, account.id))


@pytest.fixture
def auto_create(sso_account):
    sso_account.sso_config.auto_create_users = True
    sso_account.sso_config.auto_create_groups = True
    db.session.commit()
    return sso_account


def teams(account) -> set[str]:
    return set(db.session.scalars(select(Team.name).where(Team.account_id == account.id)))


# --- the service --------------------------------------------------------------------------------------------

def test_new_accounts_use_okta_names(account):
    assert mapping(account) == {"preset": "okta", "group_attribute": "http://schemas.xmlsoap.org/claims/Group",
                                "first_name_attribute": "firstName", "last_name_attribute": "lastName"}


@pytest.mark.parametrize("preset, group, first, last", [
    ("entra", ENTRA_GROUPS, ENTRA_GIVEN, ENTRA_SURNAME),
    ("google", "groups", "firstName", "lastName"),
])
def test_preset_sets_all_three_names_audited_and_versioned(account, preset, group, first, last):
    version = db.session.get(SsoConfig, account.id).version
    outcome = attributes.apply(account, preset)
    db.session.commit()
    assert mapping(account) == {"preset": preset, "group_attribute": group, "first_name_attribute": first,
                                "last_name_attribute": last}
    assert set(outcome.changes) == {"group_attribute"} | ({"first_name_attribute", "last_name_attribute"}
                                                         if preset == "entra" else set())
    assert db.session.get(SsoConfig, account.id).version == version + 1
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == "sso.settings_updated")
                               .order_by(AuditEvent.id.desc())).first()
    assert event.details["changes"]["group_attribute"]["new"] == group and event.details["attribute_preset"] == preset


def test_custom_names_after_a_preset_make_it_custom(account):
    attributes.apply(account, "entra", group_attribute="memberOf")
    db.session.commit()
    assert mapping(account)["preset"] == "custom"
    assert mapping(account)["group_attribute"] == "memberOf" and mapping(account)["first_name_attribute"] == ENTRA_GIVEN


@pytest.mark.parametrize("names, field", [
    (dict(group_attribute=""), "group_attribute"),
    (dict(first_name_attribute="first name"), "first_name_attribute"),
    (dict(last_name_attribute="x" * 1001), "last_name_attribute"),
    (dict(group_attribute="groups\x00"), "group_attribute"),
])
def test_bad_names_refused_and_nothing_changed(account, names, field):
    with pytest.raises(attributes.MappingError) as refused:
        attributes.apply(account, "entra", **names)
    assert set(refused.value.errors) == {field}
    db.session.rollback()
    assert mapping(account)["preset"] == "okta"


# --- logins --------------------------------------------------------------------------------------------------

def test_entra_users_groups_become_teams_with_the_entra_preset(flow, auto_create):
    attributes.apply(auto_create, "entra")
    db.session.commit()
    response = flow.login("ada@acme.test", attribute_style="entra", first_name="Ada", last_name="Lovelace",
                          groups=["Engineering", "Analysts"])
    assert response.status_code == 303
    assert {"Engineering", "Analysts"} <= teams(auto_create)
    user = User.by_email("ada@acme.test")
    assert user.name == "Ada Lovelace"
    assert {t.name for t in user.teams} >= {"Engineering", "Analysts"}


def test_without_the_preset_entra_groups_are_not_read(flow, auto_create):
    # The Okta names (the default) do not match Entra's claims: no teams from them.
    assert flow.login("ada@acme.test", attribute_style="entra", groups=["Engineering"]).status_code == 303
    assert "Engineering" not in teams(auto_create)


def test_google_preset_reads_googles_group_attribute(flow, auto_create):
    attributes.apply(auto_create, "google")
    db.session.commit()
    assert flow.login("gwen@acme.test", attribute_style="google", groups=["Sales"]).status_code == 303
    assert "Sales" in teams(auto_create)


def test_custom_name_attributes_win_over_guessed_ones(flow, auto_create):
    attributes.apply(auto_create, first_name_attribute="urn:oid:given", last_name_attribute="urn:oid:family")
    db.session.commit()
    response = flow.login("grace@acme.test", first_name=None, last_name=None,
                          attributes={"urn:oid:given": ["Grace"], "urn:oid:family": ["Hopper"],
                                      "displayName": ["G. H."]})
    assert response.status_code == 303
    assert User.by_email("grace@acme.test").name == "Grace Hopper"


# --- the page ------------------------------------------------------------------------------------------------

def post(client, **fields):
    return client.post(PAGE, data={"csrf_token": csrf_token(client, PAGE), "section": "attribute_mapping", **fields})


def test_page_has_entra_and_google_walkthroughs_with_copy_buttons(admin_client):
    page = admin_client.get(PAGE).get_data(as_text=True)
    for text in ("Basic SAML Configuration", "Identifier (Entity ID)", "Reply URL (Assertion Consumer Service URL)",
                 "Sign on URL", "Attributes &amp; Claims", "Entra sends group object IDs", "ACS URL", "Entity ID",
                 "Name ID format", "EMAIL", "Group membership", "Okta walk-through"):
        assert text in page, text
    for copy_id, value in (("entra-identifier", "https://portal.test/login/saml/acme"),
                           ("entra-reply-url", "https://portal.test/login/saml/acme/callback"),
                           ("entra-sign-on-url", "https://portal.test/login/saml/acme"),
                           ("google-acs-url", "https://portal.test/login/saml/acme/callback"),
                           ("google-entity-id", "https://portal.test/login/saml/acme")):
        assert f'id="{copy_id}" type="text" value="{value}"' in page
        assert f'data-copy="{copy_id}"' in page
    for label in ("Attribute preset", "Group attribute", "First name attribute", "Last name attribute"):
        assert re.search(rf">\s*{re.escape(label)}</label>", page), label


def test_use_preset_on_the_page(admin_client, account):
    response = post(admin_client, attribute_preset="entra", use_preset="Use preset")
    assert response.status_code == 302 and response.headers["Location"].endswith("#attribute-mapping")
    assert mapping(account)["preset"] == "entra"
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert f'value="{ENTRA_GROUPS}"' in page and "Now:\n    <strong>Microsoft Entra ID</strong>" in page


def test_save_custom_names_on_the_page(admin_client, account):
    response = post(admin_client, attribute_preset="okta", group_attribute=" memberOf ",
                    first_name_attribute="givenName", last_name_attribute="sn", save_names="Save attribute names")
    assert response.status_code == 302
    assert mapping(account) == {"preset": "custom", "group_attribute": "memberOf",
                                "first_name_attribute": "givenName", "last_name_attribute": "sn"}


def test_bad_name_shows_the_error_next_to_the_field(admin_client, account):
    response = post(admin_client, attribute_preset="okta", group_attribute="my groups", first_name_attribute="a",
                    last_name_attribute="b", save_names="Save attribute names")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="group_attribute"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="group_attribute"',
                     page)
    assert 'id="group_attribute-error">The group attribute is one name without spaces' in page
    assert mapping(account)["preset"] == "okta"


def test_custom_choice_with_use_preset_is_refused_with_a_reason(admin_client, account):
    page = post(admin_client, attribute_preset="custom", use_preset="Use preset").get_data(as_text=True)
    assert "For custom names, type them below" in page and mapping(account)["preset"] == "okta"


def test_form_needs_csrf_and_the_permission(client, account, member):
    login(client, "admin@acme.test")
    refused = client.post(PAGE, data={"section": "attribute_mapping", "attribute_preset": "entra", "use_preset": "1"})
    assert refused.status_code in (200, 400) and mapping(account)["preset"] == "okta"
    other = client.application.test_client()
    login(other, "member@acme.test")
    token = csrf_token(other, "/")
    forbidden = other.post(PAGE, data={"csrf_token": token, "section": "attribute_mapping", "attribute_preset": "entra",
                                                              "use_preset": "1"})
    assert forbidden.status_code == 403 and mapping(account)["preset"] == "okta"


# --- the CLI -------------------------------------------------------------------------------------------------

def test_cli_preset_and_show_json(runner, account):
    result = runner.invoke(args=["sso-config", "set", "acme", "--attribute-preset", "entra"])
    assert result.exit_code == 0, result.output
    assert "Group attribute: http://schemas.xmlsoap.org/claims/Group → " + ENTRA_GROUPS in result.output
    shown = json.loads(runner.invoke(args=["sso-config", "show", "acme", "--json"]).output)
    assert shown["attribute_mapping"] == {"preset": "entra", "group_attribute": ENTRA_GROUPS,
                                          "first_name_attribute": ENTRA_GIVEN, "last_name_attribute": ENTRA_SURNAME}
    assert shown["domain"] == "acme"  # the other keys stay


def test_cli_custom_names_with_other_options(runner, account):
    result = runner.invoke(args=["sso-config", "set", "acme", "--attribute-preset", "google", "--group-attribute",
                                 "memberOf", "--last-name-attribute", "sn", "--auto-create-groups"])
    assert result.exit_code == 0, result.output
    assert mapping(account) == {"preset": "custom", "group_attribute": "memberOf",
                                "first_name_attribute": "firstName", "last_name_attribute": "sn"}
    assert db.session.get(SsoConfig, account.id).auto_create_groups is True


def test_cli_refuses_bad_names_in_one_line_and_changes_nothing(runner, account):
    result = runner.invoke(args=["sso-config", "set", "acme", "--attribute-preset", "entra", "--group-attribute",
                                 "two words", "--auto-create-groups"])
    assert result.exit_code == 1
    assert "Group attribute: The group attribute is one name without spaces" in result.output
    assert "Traceback" not in result.output
    assert mapping(account)["preset"] == "okta" and db.session.get(SsoConfig, account.id).auto_create_groups is False
    bad = runner.invoke(args=["sso-config", "set", "acme", "--attribute-preset", "azure"])
    assert bad.exit_code == 2 and "azure" in bad.output


def test_cli_check_keeps_working_with_a_mapping(runner, sso_account, idp):
    assert runner.invoke(args=["sso-config", "set", "acme", "--attribute-preset", "entra"]).exit_code == 0
    result = runner.invoke(args=["sso-config", "check", "acme"])
    assert result.exit_code == 0 and result.output.startswith("OK: acme: SSO enabled"), result.output
