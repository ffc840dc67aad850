"""Hostile input at the ACS, forged with lxml on top of the test IdP's signed output: 4xx, never a 500."""
from __future__ import annotations

import base64
import copy

import pytest
from lxml import etree

from portal.models import User
from portal.sso.setup.certs import parse_certificate
from tests.sso.helpers import assert_refused, last_failure

NS = {"samlp": "urn:oasis:names:tc:SAML:2.0:protocol", "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
      "ds": "http://www.w3.org/2000/09/xmldsig#"}


def parse(xml: str):
    return etree.fromstring(xml.encode())


def dump(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def nameid(root):
    return root.find("saml:Assertion/saml:Subject/saml:NameID", NS)


def test_dtd_with_entities_refused(flow, admin):
    request = flow.start()
    xml = flow.respond(request, "admin@acme.test")
    body = xml.replace('<?xml version="1.0"?>', "").replace(">admin@acme.test<", ">&who;<")
    forged = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY who "admin@acme.test">]>' + body
    assert_refused(flow, flow.post(forged), "malformed_response")


def test_billion_laughs_refused(flow):
    flow.start()
    entities = "".join(f'<!ENTITY l{i} "&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};">' for i in range(1, 10))
    forged = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{entities}]><r>&l9;</r>'
    assert_refused(flow, flow.post(forged), "malformed_response")


def test_deep_nesting_refused(flow):
    request = flow.start()
    root = parse(flow.respond(request))
    node = root.find("samlp:Status", NS)
    for _ in range(3000):
        node = etree.SubElement(node, "{urn:example}deep")
    assert_refused(flow, flow.post(dump(root)), "malformed_response")


@pytest.mark.parametrize("app_config", [{"SAML_MAX_RESPONSE_BYTES": 64 * 1024}])
def test_oversized_body_refused_with_413(flow, app_config):
    flow.start()
    response = flow.post(None, data={"SAMLResponse": "A" * (100 * 1024)})
    event = assert_refused(flow, response, "response_too_large", status=413)
    assert event.details["received_bytes"] > 64 * 1024


def test_default_cap_is_a_few_hundred_kib(flow):
    response = flow.post(None, data={"SAMLResponse": "A" * (300 * 1024)})
    assert_refused(flow, response, "response_too_large", status=413)


@pytest.mark.parametrize("value", ["!!!not base64!!!", "QUJD=", "", base64.b64encode(b"\x00\xff binary").decode()])
def test_bad_base64_or_not_xml_refused(flow, value):
    response = flow.post(None, data={"SAMLResponse": value})
    assert_refused(flow, response, "malformed_response")


def test_missing_parameter_refused(flow):
    assert_refused(flow, flow.post(None, data={"RelayState": "/"}), "malformed_response")


def test_truncated_xml_refused(flow):
    request = flow.start()
    xml = flow.respond(request)
    assert_refused(flow, flow.post(xml[: len(xml) // 2]), "malformed_response")


def test_other_root_element_refused(flow):
    flow.start()
    forged = '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="x" Version="2.0"/>'
    assert_refused(flow, flow.post(forged), "malformed_response")


def test_changed_nameid_breaks_the_signature(flow, admin):
    request = flow.start()
    root = parse(flow.respond(request, "attacker@acme.test"))
    nameid(root).text = "admin@acme.test"
    assert_refused(flow, flow.post(dump(root)), "signature_invalid")


@pytest.mark.parametrize("placement", ["sibling", "extensions", "inside_evil"])
def test_signature_wrapping_refused(flow, admin, placement):
    """XSW: the signed assertion (for the attacker) is kept somewhere; an evil one claims admin."""
    request = flow.start()
    root = parse(flow.respond(request, "attacker@acme.test", sign_response=False))
    signed = root.find("saml:Assertion", NS)
    evil = copy.deepcopy(signed)
    evil.remove(evil.find("ds:Signature", NS))
    evil.find("saml:Subject/saml:NameID", NS).text = "admin@acme.test"
    root.remove(signed)
    if placement == "sibling":
        evil.set("ID", "evil" + signed.get("ID"))
        root.append(evil)
        root.append(signed)
    elif placement == "extensions":
        extensions = etree.Element(f"{{{NS['samlp']}}}Extensions")
        extensions.append(signed)
        root.insert(1, extensions)
        root.append(evil)
    else:
        evil.append(signed)
        root.append(evil)
    # Two assertions in the document (one signed, one evil): refused before either is believed.
    event = assert_refused(flow, flow.post(dump(root)), "malformed_response")
    assert event.details["problem"] == "SAML Response must contain 1 assertion"


def test_comment_inside_nameid_does_not_truncate_the_email(flow, admin):
    """The IdP vouched for admin@acme.test.evil.example; a comment must not turn it into admin@acme.test."""
    request = flow.start()
    root = parse(flow.respond(request, "admin@acme.test.evil.example"))
    node = nameid(root)
    node.text = "admin@acme.test"
    comment = etree.Comment("x")
    comment.tail = ".evil.example"
    node.append(comment)
    event = assert_refused(flow, flow.post(dump(root)), "user_not_found")
    assert event.subject == "admin@acme.test.evil.example"


def test_embedded_foreign_certificate_refused(flow, idp_keys, admin):
    request = flow.start()
    response = flow.post(flow.respond(request, "admin@acme.test", key=idp_keys["attacker"]))
    event = assert_refused(flow, response, "signature_invalid")
    assert parse_certificate(idp_keys["attacker"].cert_pem).sha256_fingerprint in event.details["fix"]


def test_response_for_another_accounts_entity_id_refused(flow, admin):
    request = flow.start()
    xml = flow.respond(request, "admin@acme.test", audience="https://portal.test/login/saml/globex",
                       destination="https://portal.test/login/saml/globex/callback",
                       recipient="https://portal.test/login/saml/globex/callback")
    assert_refused(flow, flow.post(xml), "destination_mismatch")


def test_replayed_assertion_rewrapped_in_a_new_response_refused(flow, admin):
    """An assertion not bound to a request (no SubjectConfirmationData InResponseTo) is still used once."""
    first = flow.start()
    xml = flow.respond(first, "admin@acme.test", subject_in_response_to=None, sign_response=False)
    assert flow.post(xml).status_code == 303
    flow.client = flow.client.application.test_client()  # the attacker's browser
    second = flow.start()
    root = parse(xml)
    root.set("InResponseTo", second.request_id)
    root.set("ID", "idrewrapped0001")
    assert_refused_after_success(flow, flow.post(dump(root)), "replayed_assertion")
    assert User.by_email("admin@acme.test").last_sso_login_at is not None


def assert_refused_after_success(flow, response, reason):
    assert response.status_code == 400
    event = last_failure(flow.account)
    assert event.reason == reason
    assert event.details["reference"] in response.get_data(as_text=True)
    assert flow.client.get("/").status_code == 302
