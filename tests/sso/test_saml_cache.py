"""Per-process caches of the ACS: python3-saml settings per account version, compiled XSD and XPath per
thread, IdP certificates parsed into xmlsec keys once."""
from __future__ import annotations

import threading

from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from portal.extensions import db
from portal.sso import saml, settings as sso_settings
from tests.helpers import csrf_token
from tests.sso.helpers import sso_events

SCHEMA = "saml-schema-protocol-2.0.xsd"
INVALID = b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><samlp:Nope/></samlp:Response>'


def test_cached_schema_still_refuses_an_invalid_document(flow):
    valid = flow.respond(flow.start()).encode()
    assert OneLogin_Saml2_XML.validate_xml is not saml._stock_validate_xml  # the cached one is installed
    for _ in range(3):  # first call compiles, the next ones reuse it
        assert OneLogin_Saml2_XML.validate_xml(INVALID, SCHEMA) == "invalid_xml"
        assert OneLogin_Saml2_XML.validate_xml(valid, SCHEMA).tag.endswith("Response")
    assert OneLogin_Saml2_XML.validate_xml(b"<not xml", SCHEMA) == "unloaded_xml"
    # Same answers as python3-saml's own (uncached) function.
    assert saml._stock_validate_xml(INVALID, SCHEMA) == "invalid_xml"
    assert saml._stock_validate_xml(valid, SCHEMA).tag.endswith("Response")


def test_schema_cache_is_per_thread_and_correct_under_concurrency(flow):
    valid = flow.respond(flow.start()).encode()
    results, errors, validators = [], [], []

    def work():
        try:
            for i in range(20):
                doc, want = (valid, True) if i % 2 else (INVALID, False)
                result = OneLogin_Saml2_XML.validate_xml(doc, SCHEMA)
                results.append((result != "invalid_xml") == want)
            validators.append(saml._schemas.__dict__[SCHEMA])  # kept alive: ids stay distinct
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 120 and all(results)
    assert len({id(v) for v in validators}) == 6  # one compiled schema per thread


def test_settings_are_built_once_per_version_and_rebuilt_on_change(app, sso_account, idp_keys):
    first = saml._settings(sso_account)
    assert saml._settings(sso_account) is first
    sso_settings.apply(sso_account, sso_settings.SettingsChange(idp_issuer="http://www.okta.com/exkNEW"))
    db.session.commit()
    second = saml._settings(sso_account)
    assert second is not first and second.get_idp_data()["entityId"] == "http://www.okta.com/exkNEW"
    assert saml._settings(sso_account) is second
    # A change that does not go through the settings service (no version bump) is still picked up.
    sso_account.sso_config.idp_login_url = "https://idp.test/other"
    db.session.commit()
    third = saml._settings(sso_account)
    assert third is not second and third.get_idp_data()["singleSignOnService"]["url"] == "https://idp.test/other"


def test_login_after_issuer_change_uses_new_settings(flow, admin):
    assert flow.login().status_code == 303
    sso_settings.apply(flow.account, sso_settings.SettingsChange(idp_issuer="http://www.okta.com/exkOTHER"))
    db.session.commit()
    _logout(flow.client)
    response = flow.login()
    assert response.status_code == 400  # the cached settings of the old version are not used
    assert sso_events(flow.account, "failure")[-1].reason == "issuer_mismatch"


def _logout(client) -> None:
    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/")}).status_code == 302


def test_clear_caches(sso_account):
    saml._settings(sso_account)
    OneLogin_Saml2_XML.validate_xml(INVALID, SCHEMA)
    saml.clear_caches()
    assert not saml._settings_cache and SCHEMA not in saml._schemas.__dict__
    assert not saml._keys and not saml._xpaths.__dict__


def test_certificate_keys_are_parsed_once_and_a_replaced_certificate_is_not_trusted(flow, idp_keys, admin):
    saml.clear_caches()
    assert flow.login().status_code == 303
    assert len(saml._keys) == 1  # the account's one certificate, parsed once for both signatures
    key = next(iter(saml._keys.values()))
    _logout(flow.client)
    assert flow.login().status_code == 303
    assert next(iter(saml._keys.values())) is key  # reused by the next login
    # Replace the certificate: the old key stays in the process cache but is never offered again.
    sso_settings.apply(flow.account, sso_settings.SettingsChange(
        replace_certificates=[idp_keys["second"].cert_pem]))
    db.session.commit()
    _logout(flow.client)
    assert flow.login().status_code == 400  # signed with the old key
    assert sso_events(flow.account, "failure")[-1].reason == "signature_invalid"
    request = flow.start()
    assert flow.post(flow.respond(request, key=idp_keys["second"])).status_code == 303


def test_xpath_cache_is_per_thread_and_gives_python3_saml_the_same_nodes(flow):
    document = etree.fromstring(flow.respond(flow.start()).encode())
    query = "/samlp:Response/saml:Assertion/saml:Subject/saml:NameID"
    stock = document.xpath(query, namespaces=C.NSMAP)
    assert OneLogin_Saml2_XML.query(document, query) == stock and len(stock) == 1
    tagged = OneLogin_Saml2_XML.query(document, "/samlp:Response[@ID=$tagid]", tagid=document.get("ID"))
    assert tagged == [document]
    assert OneLogin_Saml2_XML.query(document, "/samlp:Response[@ID=$tagid]", tagid="other") == []
    compiled = []

    def work():
        OneLogin_Saml2_XML.query(document, query)
        compiled.append(saml._xpaths.__dict__[query])

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in compiled}) == 3  # one compiled expression per thread
