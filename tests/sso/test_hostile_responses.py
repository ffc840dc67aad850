"""Issue 25's "also try" sweep at the ACS with encrypted assertions: signature wrapping around an EncryptedAssertion,
and URIs xmlsec would open while decrypting. Forged with lxml and python-xmlsec on top of the test IdP's signed
output; anyone can encrypt for the SP (its certificate is public), so only signatures vouch for anything.

member@acme.test (A) holds a validly signed assertion; every forgery tries to sign in admin@acme.test (B). Each must
be refused with a 4xx and an audit event (assert_refused), nobody signed in, never a 5xx.
"""
from __future__ import annotations

import copy
import os
import threading

import pytest
import xmlsec
from lxml import etree
from onelogin.saml2.response import OneLogin_Saml2_Response

from portal.models import User
from tests.sso.helpers import assert_refused, last_failure
from tests.sso.sp_key_helpers import current_cert, turn_on

NS = {"samlp": "urn:oasis:names:tc:SAML:2.0:protocol", "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
      "ds": "http://www.w3.org/2000/09/xmldsig#", "xenc": "http://www.w3.org/2001/04/xmlenc#"}
SAML, SAMLP, DS, XENC = (f"{{{NS[p]}}}" for p in ("saml", "samlp", "ds", "xenc"))
A, B = "member@acme.test", "admin@acme.test"
ONE_ASSERTION = "SAML Response must contain 1 assertion"  # python3-saml's count
PORTAL_COUNT = "the Response must hold exactly one assertion, encrypted or not"  # saml._check_one_assertion


def parse(xml: str):
    return etree.fromstring(xml.encode())


def dump(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def encrypted_assertion(cert_pem: str, plaintext: bytes, kind=xmlsec.EncryptionType.ELEMENT):
    """An EncryptedAssertion for the SP certificate (AES-256-CBC, RSA-OAEP) whose plaintext is any bytes."""
    holder = etree.Element(SAML + "EncryptedAssertion", nsmap={"saml": NS["saml"]})
    data = xmlsec.template.encrypted_data_create(holder, xmlsec.Transform.AES256, type=kind, ns="xenc")
    xmlsec.template.encrypted_data_ensure_cipher_value(data)
    key = xmlsec.template.add_encrypted_key(xmlsec.template.encrypted_data_ensure_key_info(data, ns="ds"),
                                            xmlsec.Transform.RSA_OAEP)
    xmlsec.template.encrypted_data_ensure_cipher_value(key)
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_memory(cert_pem.encode(), xmlsec.KeyFormat.CERT_PEM, None))
    context = xmlsec.EncryptionContext(manager)
    context.key = xmlsec.Key.generate(xmlsec.KeyData.AES, 256, xmlsec.KeyDataType.SESSION)
    holder.append(context.encrypt_binary(data, plaintext))
    return holder


def encrypting_nodes(cert_pem: str, *nodes):
    """The EncryptedAssertion whose decrypted content is nodes, one after the other (each declaring its namespaces)."""
    kind = xmlsec.EncryptionType.ELEMENT if len(nodes) == 1 else xmlsec.EncryptionType.CONTENT
    return encrypted_assertion(cert_pem, b"".join(etree.tostring(node) for node in nodes), kind)


class Forge:
    """The attacker's material for one login: A's signed pieces from the IdP and an unsigned twin claiming B."""

    def __init__(self, flow):
        self.flow = flow
        self.cert = current_cert(flow.account)
        self.request = flow.start()

    def respond(self, email: str = A, **options):
        return parse(self.flow.respond(self.request, email, **options))

    def plain(self):
        """(Response with only its assertion signed, that signed assertion for A, an unsigned copy claiming B)."""
        root = self.respond(sign_response=False)
        signed = root.find("saml:Assertion", NS)
        evil = copy.deepcopy(signed)
        evil.remove(evil.find("ds:Signature", NS))
        evil.find("saml:Subject/saml:NameID", NS).text = B
        evil.set("ID", "evil" + signed.get("ID"))
        return root, signed, evil

    def post(self, root):
        return self.flow.post(dump(root))


@pytest.fixture(params=["wanted", "optional"])
def encrypting(request, flow, member, admin):
    """acme with an SP key pair: "wanted" refuses plain assertions; "optional" (signed requests only) takes both."""
    turn_on(flow.account, **({"want_encrypted_assertions": True} if request.param == "wanted"
                             else {"sign_requests": True}))
    return flow


@pytest.fixture
def wanted(flow, member, admin):
    turn_on(flow.account, want_encrypted_assertions=True)
    return flow


def refused(flow, response, reason: str = "malformed_response", problem: str | None = ONE_ASSERTION):
    event = assert_refused(flow, response, reason)
    if problem is not None:
        assert event.details["problem"] == problem
    assert User.by_email(B).last_sso_login_at is None
    return event


def test_assertion_reencrypted_by_anyone_still_vouches_for_its_signer_only(encrypting):
    """Control for the forgeries below: an EncryptedAssertion made with encrypting_nodes decrypts and validates."""
    forge = Forge(encrypting)
    root, signed, _ = forge.plain()
    root.replace(signed, encrypting_nodes(forge.cert, signed))
    assert forge.post(root).status_code == 303
    with encrypting.client.session_transaction() as session:
        assert session["_user_id"] == str(User.by_email(A).id)


def wrap_inside(forge, placement):
    root, signed, evil = forge.plain()
    if placement == "evil_beside_signed":
        nodes = (evil, signed)
    elif placement == "signed_beside_evil":
        nodes = (signed, evil)
    elif placement == "evil_around_signed":
        evil.append(copy.deepcopy(signed))
        nodes = (evil,)
    else:  # signature_on_evil: the evil one takes the signed one's ID and Signature, the signed one in its Advice
        evil.set("ID", signed.get("ID"))
        evil.insert(1, copy.deepcopy(signed.find("ds:Signature", NS)))
        etree.SubElement(evil, SAML + "Advice").append(copy.deepcopy(signed))
        nodes = (evil,)
    root.replace(signed, encrypting_nodes(forge.cert, *nodes))
    return root


INSIDE = ["evil_beside_signed", "signed_beside_evil", "evil_around_signed", "signature_on_evil"]


@pytest.mark.parametrize("placement", INSIDE)
def test_wrapping_inside_the_encrypted_assertion_refused(encrypting, placement):
    forge = Forge(encrypting)
    refused(encrypting, forge.post(wrap_inside(forge, placement)))


def sibling(forge, placement, sign_response=False):
    root = forge.respond(encrypt_for=forge.cert, sign_response=sign_response)
    encrypted = root.find("saml:EncryptedAssertion", NS)
    _, _, evil = forge.plain()
    encrypted.addprevious(evil) if placement == "before" else encrypted.addnext(evil)
    return root


@pytest.mark.parametrize("sign_response", [False, True])
@pytest.mark.parametrize("placement", ["before", "after"])
def test_forged_plain_assertion_beside_the_encrypted_one_refused(encrypting, placement, sign_response):
    forge = Forge(encrypting)
    refused(encrypting, forge.post(sibling(forge, placement, sign_response)))


def response_wrapping(forge, how):
    """A's validly signed Response (encrypted assertion inside) kept somewhere; the Response read claims B."""
    original = forge.respond(encrypt_for=forge.cert)
    _, _, evil = forge.plain()
    if how in ("encrypted_moved_into_evil", "encrypted_moved_into_extensions"):
        root = original if how == "encrypted_moved_into_evil" else forge.respond(encrypt_for=forge.cert,
                                                                                   sign_response=False)
        encrypted = root.find("saml:EncryptedAssertion", NS)
        root.remove(encrypted)
        if how == "encrypted_moved_into_evil":
            evil.append(encrypted)
            root.append(evil)
        else:
            etree.SubElement(root, SAMLP + "Extensions").append(encrypted)
            root.insert(1, root[-1])
            root.append(encrypting_nodes(forge.cert, evil))
        return root
    root = copy.deepcopy(original)
    for child in root.findall("saml:EncryptedAssertion", NS) + root.findall("ds:Signature", NS):
        root.remove(child)
    if how != "extensions_same_id":
        root.set("ID", "evil" + original.get("ID"))
    if how.startswith("extensions"):
        extensions = etree.Element(SAMLP + "Extensions")
        extensions.append(original)
        root.insert(1, extensions)
    else:  # signature_object: the Signature stays on top, the signed Response it names moves into its ds:Object
        signature = original.find("ds:Signature", NS)
        original.remove(signature)
        etree.SubElement(signature, DS + "Object").append(original)
        root.insert(1, signature)
    root.append(encrypting_nodes(forge.cert, evil) if how != "signature_object_plain_evil" else evil)
    return root


WRAPPINGS = ["extensions", "extensions_same_id", "signature_object", "signature_object_plain_evil",
             "encrypted_moved_into_evil", "encrypted_moved_into_extensions"]


@pytest.mark.parametrize("how", WRAPPINGS)
def test_signed_response_wrapping_with_the_encrypted_assertion_moved_refused(encrypting, how):
    forge = Forge(encrypting)
    refused(encrypting, forge.post(response_wrapping(forge, how)))


def two_assertions(forge, kind):
    root = forge.respond(encrypt_for=forge.cert, sign_response=False)
    encrypted = root.find("saml:EncryptedAssertion", NS)
    if kind == "two_encrypted":
        other = forge.respond(B, encrypt_for=forge.cert, sign_response=False).find("saml:EncryptedAssertion", NS)
    else:  # both validly signed by the IdP: one for A encrypted, one for B plain
        other = forge.respond(B, sign_response=False).find("saml:Assertion", NS)
    encrypted.addprevious(other) if kind == "plain_first" else encrypted.addnext(other)
    return root


@pytest.mark.parametrize("kind", ["plain_first", "plain_after", "two_encrypted"])
def test_encrypted_assertion_beside_another_valid_one_refused(encrypting, kind):
    forge = Forge(encrypting)
    refused(encrypting, forge.post(two_assertions(forge, kind)))


@pytest.mark.parametrize("case", ["sibling_before", "sibling_after", "two_encrypted", "plain_after",
                                  *INSIDE, *WRAPPINGS])
def test_portal_counts_the_assertions_without_python3_saml(wanted, monkeypatch, case):
    """With python3-saml's count gone, no forgery signs in B, and exactly one assertion is still the rule: the
    portal's own count (saml._check_one_assertion) refuses what the signature checks would let through as A."""
    monkeypatch.setattr(OneLogin_Saml2_Response, "validate_num_assertions", lambda self: True)
    forge = Forge(wanted)
    if case.startswith("sibling_"):
        root = sibling(forge, case.removeprefix("sibling_"))
    elif case in ("two_encrypted", "plain_after"):
        root = two_assertions(forge, case)
    else:
        root = wrap_inside(forge, case) if case in INSIDE else response_wrapping(forge, case)
    response = forge.post(root)
    event = refused(wanted, response, reason=last_failure(wanted.account).reason, problem=None)
    if case.startswith("sibling_") or case == "two_encrypted":  # only the portal's count stands in their way
        assert event.details["problem"] == PORTAL_COUNT


# --- URIs in the EncryptedAssertion: xmlsec must open nothing -------------------------------------------------

class NamedPipe:
    """A FIFO on disk that records whether anything opened it for reading (a reader would hang without a writer)."""

    def __init__(self, path):
        self.path = str(path)
        os.mkfifo(self.path)
        self.opened = 0
        self._stop = threading.Event()
        self._writer = threading.Thread(target=self._serve, daemon=True)
        self._writer.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                with open(self.path, "wb") as pipe:  # blocks until a reader opens the other end
                    if self._stop.is_set():
                        return
                    self.opened += 1
                    pipe.write(b"not xml")
            except BrokenPipeError:
                pass

    def close(self):
        self._stop.set()
        reader = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)  # releases the writer's pending open
        self._writer.join(5)
        os.close(reader)
        assert not self._writer.is_alive()


@pytest.fixture
def pipe(tmp_path):
    pipe = NamedPipe(tmp_path / "pipe")
    yield pipe
    pipe.close()


def retrieval_method(root, uri):
    info = root.find("saml:EncryptedAssertion/xenc:EncryptedData/ds:KeyInfo", NS)
    for child in list(info):
        info.remove(child)
    etree.SubElement(info, DS + "RetrievalMethod", URI=uri, Type="http://www.w3.org/2001/04/xmlenc#EncryptedKey")


def cipher_reference(element, uri):
    cipher_data = element.find("xenc:CipherData", NS)
    cipher_data.remove(cipher_data.find("xenc:CipherValue", NS))
    etree.SubElement(cipher_data, XENC + "CipherReference", URI=uri)


@pytest.mark.parametrize("where", ["retrieval_method_path", "retrieval_method_file_url", "data_cipher_reference",
                                   "key_cipher_reference"])
def test_xmlsec_opens_no_uri_named_in_an_encrypted_assertion(encrypting, pipe, where):
    """Decryption runs before any signature check, so this post needs no signature at all."""
    forge = Forge(encrypting)
    root = forge.respond(encrypt_for=forge.cert, sign_response=False)
    if where == "retrieval_method_path":
        retrieval_method(root, pipe.path)
    elif where == "retrieval_method_file_url":
        retrieval_method(root, "file://" + pipe.path)
    elif where == "data_cipher_reference":
        cipher_reference(root.find("saml:EncryptedAssertion/xenc:EncryptedData", NS), "file://" + pipe.path)
    else:
        cipher_reference(root.find(".//xenc:EncryptedKey", NS), "file://" + pipe.path)
    refused(encrypting, forge.post(root), "assertion_decryption_failed", problem=None)
    assert pipe.opened == 0


@pytest.mark.parametrize("plaintext", [
    b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    b'<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">&e;</saml:Assertion>',
    b"just text", b"\x00\xff<<<", b""])
def test_hostile_plaintexts_refused(wanted, plaintext):
    forge = Forge(wanted)
    root, signed, _ = forge.plain()
    root.replace(signed, encrypted_assertion(forge.cert, plaintext))
    refused(wanted, forge.post(root), "assertion_decryption_failed", problem=None)


def test_encrypted_response_inside_the_encrypted_assertion_refused(wanted):
    """One Assertion once decrypted, so both counts pass; its signature is not where python3-saml looks for it."""
    forge = Forge(wanted)
    root, signed, _ = forge.plain()
    root.replace(signed, encrypting_nodes(forge.cert, copy.deepcopy(root)))
    refused(wanted, forge.post(root), "signature_invalid",
            "Unexpected number of Assertion signatures found. SAML Response rejected.")


def test_empty_encrypted_assertion_refused(wanted):
    forge = Forge(wanted)
    root = forge.respond(encrypt_for=forge.cert, sign_response=False)
    encrypted = root.find("saml:EncryptedAssertion", NS)
    for child in list(encrypted):
        encrypted.remove(child)
    refused(wanted, forge.post(root))
