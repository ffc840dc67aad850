"""The only module that uses python3-saml (saml_speedups only patches it): settings, AuthnRequest, response
validation, SP metadata."""
from __future__ import annotations

import base64
import binascii
import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

import xmlsec
from flask import current_app
from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.errors import OneLogin_Saml2_ValidationError as VE
from onelogin.saml2.metadata import OneLogin_Saml2_Metadata
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from portal.models import Account, SsoConfig
from portal.sso import saml_speedups, sp_keys
from portal.sso.reasons import Reason
from portal.sso.urls import sp_urls

NAMEID_EMAIL = C.NAMEID_EMAIL_ADDRESS
_ASSERTIONS = (f"{{{C.NS_SAML}}}Assertion", f"{{{C.NS_SAML}}}EncryptedAssertion")

# xmlsec opens the URI of a ds:RetrievalMethod or xenc:CipherReference in an encrypted assertion through its I/O
# callbacks, while python3-saml decrypts, before any signature is checked: with the defaults an anonymous post made
# the server read a local file it named (a named pipe hangs the worker). With none registered xmlsec opens nothing;
# same-document references ("#id"), the only kind a SAML signature or encryption needs, do not use them.
xmlsec.cleanup_callbacks()


_WANTED = object()  # settings_dict's default: the SP keys when the account's options need them


def settings_dict(account: Account, config: SsoConfig | None = None, certificates: list[str] | None = None,
                  keys: sp_keys.SpKeyMaterial | None = _WANTED, decrypt_with_next: bool = False) -> dict:
    """python3-saml settings for account: strict, SP URLs from BASE_URL, the IdP's active certificates,
    the SP key pair (signed AuthnRequests, encrypted assertions; both certificates during a rotation)."""
    urls = sp_urls(account.domain)
    config = config or account.sso_config
    if keys is _WANTED:
        keys = sp_keys.material(account) if _wants_keys(config) else None
    key_pem = (keys.next_key_pem if decrypt_with_next else keys.key_pem) if keys else None
    sp_key = {"x509cert": keys.next_cert_pem if decrypt_with_next else keys.cert_pem,
              "privateKey": key_pem} if key_pem else {}
    if sp_key and keys.next_cert_pem and not decrypt_with_next:
        sp_key["x509certNew"] = keys.next_cert_pem  # rollover: SP metadata publishes both certificates
    idp = {}
    if config is not None and config.idp_issuer and config.idp_login_url:
        idp = {
            "entityId": config.idp_issuer,
            "singleSignOnService": {"url": config.idp_login_url, "binding": C.BINDING_HTTP_REDIRECT},
            "x509certMulti": {"signing": list(certificates if certificates is not None
                                              else [c.pem for c in config.certificates])},
        }
    return {
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": urls.entity_id,
            "assertionConsumerService": {"url": urls.acs_url, "binding": C.BINDING_HTTP_POST},
            "NameIDFormat": NAMEID_EMAIL,
            **sp_key,
        },
        "idp": idp,
        "security": {
            # Without a readable key these stay off here; _settings() then refuses (SP_KEY_UNAVAILABLE) instead.
            "authnRequestsSigned": bool(sp_key and config is not None and config.sign_requests),
            # The SAML profiles (4.1.3.5) ask for the assertion to be protected by a signature on the
            # Assertion or on the whole Response: Okta, Entra ID and ADFS sign the Assertion, Keycloak
            # the Response by default. python3-saml still refuses a response with neither signed.
            "wantAssertionsSigned": False,
            "wantMessagesSigned": False,
            "wantNameId": True,
            "wantNameIdEncrypted": False,
            "wantAssertionsEncrypted": bool(sp_key and config is not None and config.want_encrypted_assertions),
            # Okta leaves out the AttributeStatement when no attribute statements are set up.
            "wantAttributeStatement": False,
            "requestedAuthnContext": False,
            # Some IdPs send a multi-valued attribute (the Group attribute) as several Attribute elements.
            "allowRepeatAttributeName": True,
            "rejectDeprecatedAlgorithm": True,
            # The demo IdP lives on http://localhost; python3-saml would reject the single-label host.
            "allowSingleLabelDomains": True,
            "signatureAlgorithm": C.RSA_SHA256,
            "digestAlgorithm": C.SHA256,
        },
    }


def _wants_keys(config) -> bool:
    return bool(config is not None and (config.sign_requests or config.want_encrypted_assertions))


def sp_metadata(account: Account) -> str:
    """The SP metadata XML of account (entity ID, ACS with HTTP-POST, NameIDFormat emailAddress) and, with signed
    requests or encrypted assertions on, AuthnRequestsSigned and the SP certificates (both during a rotation).

    Built from the stored certificates and the account's options, never from its private keys: when
    PORTAL_KEY_ENCRYPTION_KEY no longer decrypts them, the metadata still says what the account requires instead of
    dropping the certificates and AuthnRequestsSigned, which an IdP reading it would take for "requests unsigned,
    assertions not encrypted". Logins are refused meanwhile (sp_key_unavailable) and `sso-config check` says why.
    """
    config = account.sso_config
    settings = OneLogin_Saml2_Settings(settings_dict(account, config, keys=None), sp_validation_only=True)
    keys = sp_keys.material(account) if _wants_keys(config) else None
    security = settings.get_security_data()
    # As OneLogin_Saml2_Settings.get_sp_metadata, which would want the private key whenever these options are on.
    metadata = OneLogin_Saml2_Metadata.builder(
        settings.get_sp_data(), bool(keys and config.sign_requests), security["wantAssertionsSigned"],
        security["metadataValidUntil"], security["metadataCacheDuration"], settings.get_contacts(),
        settings.get_organization())
    for cert_pem in (keys.next_cert_pem, keys.cert_pem) if keys else ():  # each goes first: the current one on top
        metadata = OneLogin_Saml2_Metadata.add_x509_key_descriptors(metadata, cert_pem,
                                                                   bool(config.want_encrypted_assertions))
    return metadata.decode() if isinstance(metadata, bytes) else metadata


def validate_sp_metadata(xml: str | bytes) -> list[str]:
    """python3-saml's findings on SP metadata XML (empty list when valid)."""
    settings = OneLogin_Saml2_Settings(settings_dict_for_validation(), sp_validation_only=True)
    return list(settings.validate_metadata(xml))


def settings_dict_for_validation() -> dict:
    # validate_metadata only reads the document; the settings object just has to be constructible.
    return {"strict": True, "sp": {"entityId": "urn:validation", "assertionConsumerService": {
        "url": "https://validation.invalid/acs", "binding": C.BINDING_HTTP_POST}}, "idp": {}}


# --- SP-initiated login and the Assertion Consumer Service -------------------------------------

_SIGNATURE_CODES = {
    VE.WRONG_SIGNED_ELEMENT, VE.ID_NOT_FOUND_IN_SIGNED_ELEMENT, VE.DUPLICATED_ID_IN_SIGNED_ELEMENTS,
    VE.INVALID_SIGNED_ELEMENT, VE.DUPLICATED_REFERENCE_IN_SIGNED_ELEMENTS, VE.UNEXPECTED_SIGNED_ELEMENTS,
    VE.WRONG_NUMBER_OF_SIGNATURES_IN_RESPONSE, VE.WRONG_NUMBER_OF_SIGNATURES_IN_ASSERTION, VE.NO_SIGNED_MESSAGE,
    VE.NO_SIGNED_ASSERTION, VE.NO_SIGNATURE_FOUND, VE.INVALID_SIGNATURE, VE.WRONG_NUMBER_OF_SIGNATURES,
    VE.DEPRECATED_SIGNATURE_METHOD, VE.DEPRECATED_DIGEST_METHOD,
}
_CODES = {
    VE.STATUS_CODE_IS_NOT_SUCCESS: Reason.IDP_STATUS_NOT_SUCCESS,
    VE.WRONG_AUDIENCE: Reason.AUDIENCE_MISMATCH,
    VE.SP_NAME_QUALIFIER_NAME_MISMATCH: Reason.AUDIENCE_MISMATCH,
    VE.WRONG_DESTINATION: Reason.DESTINATION_MISMATCH,
    VE.EMPTY_DESTINATION: Reason.DESTINATION_MISMATCH,
    VE.WRONG_ISSUER: Reason.ISSUER_MISMATCH,
    VE.ISSUER_MULTIPLE_IN_RESPONSE: Reason.ISSUER_MISMATCH,
    VE.ISSUER_NOT_FOUND_IN_ASSERTION: Reason.ISSUER_MISMATCH,
    VE.ASSERTION_EXPIRED: Reason.EXPIRED,
    VE.SESSION_EXPIRED: Reason.EXPIRED,
    VE.RESPONSE_EXPIRED: Reason.EXPIRED,
    VE.ASSERTION_TOO_EARLY: Reason.NOT_YET_VALID,
    VE.WRONG_INRESPONSETO: Reason.REQUEST_UNKNOWN_OR_USED,
    VE.NO_ENCRYPTED_ASSERTION: Reason.ASSERTION_NOT_ENCRYPTED,
    VE.NO_NAMEID: Reason.NAMEID_NOT_EMAIL,
    VE.EMPTY_NAMEID: Reason.NAMEID_NOT_EMAIL,
    **{code: Reason.SIGNATURE_INVALID for code in _SIGNATURE_CODES},
}


class Rejected(Exception):
    """A check of the ACS refused the response: python3-saml's, the portal's profile checks, or the login's own
    (replay, request, browser, user). The one exception a refusal travels in; details are kept with its audit event."""

    def __init__(self, reason: Reason, problem: str = "", *, status: int = 400, **details):
        super().__init__(problem or reason.value)
        self.reason = reason
        self.problem = problem[:300]
        self.status = status
        self.details = {"problem": self.problem, **details}


@dataclass(frozen=True)
class AuthnRedirect:
    url: str
    request_id: str


@dataclass(frozen=True)
class ValidatedAssertion:
    """Identity read through python3-saml's accessors after every check passed."""
    assertion_id: str
    nameid: str
    nameid_format: str
    attributes: dict
    not_on_or_after: datetime
    session_index: str | None
    session_not_on_or_after: datetime | None = None  # the IdP's AuthnStatement SessionNotOnOrAfter


def build_authn_request(account: Account, relay_state: str) -> AuthnRedirect:
    """AuthnRequest (HTTP-Redirect, NameIDPolicy emailAddress, no ForceAuthn) and the IdP URL to send it to."""
    urls = sp_urls(account.domain)
    auth = OneLogin_Saml2_Auth(_url_parts(urls.initiation_url), old_settings=_settings(account))
    url = auth.login(return_to=relay_state, force_authn=False, is_passive=False, set_nameid_policy=True)
    return AuthnRedirect(url=url, request_id=auth.get_last_request_id())


def request_data(request) -> dict:
    """python3-saml request data of an ACS post; the URL comes from PORTAL_BASE_URL, never the Host header."""
    data = _url_parts(current_app.config["BASE_URL"] + request.path)
    data["post_data"] = request.form.to_dict()  # raises RequestEntityTooLarge over the cap
    data["get_data"] = request.args.to_dict()
    return data


def parse_response(account: Account, data: dict) -> OneLogin_Saml2_Response:
    """Decode and parse the posted SAMLResponse (no DTDs or entities); Rejected when it is not one."""
    encoded = (data.get("post_data") or {}).get("SAMLResponse") or ""
    if not encoded.strip():
        raise Rejected(Reason.MALFORMED_RESPONSE, "no SAMLResponse parameter")
    try:
        raw = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Rejected(Reason.MALFORMED_RESPONSE, "SAMLResponse is not valid base64") from None
    settings = _settings(account)
    try:
        response = OneLogin_Saml2_Response(settings, base64.b64encode(raw))
    except Exception as exc:  # noqa: BLE001 - the constructor raises many kinds on hostile XML
        response = _decrypted(account, raw, exc)
    if response.document.tag != f"{{{C.NS_SAMLP}}}Response":
        raise Rejected(Reason.MALFORMED_RESPONSE, f"root element is {etree.QName(response.document).localname}")
    return response


def _decrypted(account: Account, raw: bytes, first: Exception) -> OneLogin_Saml2_Response:
    """An encrypted response python3-saml could not open with the first key: try each SP key of the account.

    The IdP may encrypt for the next certificate during a rotation, or before "Want encrypted assertions" is on.
    """
    unreadable = Rejected(Reason.MALFORMED_RESPONSE, f"unreadable XML: {first.__class__.__name__}")
    try:
        document = OneLogin_Saml2_XML.to_etree(raw)
    except Exception:  # noqa: BLE001 - hostile XML
        raise unreadable from None
    if not OneLogin_Saml2_XML.query(document, "/samlp:Response/saml:EncryptedAssertion"):
        raise unreadable
    keys = sp_keys.material(account)
    if keys is None:
        raise Rejected(Reason.ASSERTION_DECRYPTION_FAILED, "the assertion is encrypted, but this account has no SP "
                                                           "key pair")
    slots = [slot for slot, key in ((False, keys.key_pem), (True, keys.next_key_pem)) if key]
    if not slots:
        raise Rejected(Reason.SP_KEY_UNAVAILABLE, "no SP private key of this account can be decrypted")
    for decrypt_with_next in slots:
        try:
            return OneLogin_Saml2_Response(_settings(account, keys, decrypt_with_next), base64.b64encode(raw))
        except Exception:  # noqa: BLE001, S112 - xmlsec refuses a key that does not open it: try the next one
            continue
    raise Rejected(Reason.ASSERTION_DECRYPTION_FAILED, "none of the account's SP keys decrypts the assertion")


def readable_document(response: OneLogin_Saml2_Response):
    """The Response element with its assertion decrypted when it came encrypted (for the audit summary)."""
    return response.decrypted_document if response.encrypted else response.document


def in_response_to(response: OneLogin_Saml2_Response) -> str | None:
    """The InResponseTo of the Response element (None for an IdP-initiated response)."""
    return response.get_in_response_to() or None


def validate(account: Account, response: OneLogin_Saml2_Response, data: dict, request_id: str,
             clock_skew: int) -> ValidatedAssertion:
    """Strict python3-saml validation, then the profile checks it leaves out; Rejected on any failure."""
    acs_url = sp_urls(account.domain).acs_url
    data = {**data, **_url_parts(acs_url)}
    # python3-saml reads its clock drift from a class attribute; clock_skew() makes it this call's
    # (a context variable when the speed-ups are installed, the attribute under a lock otherwise).
    with saml_speedups.clock_skew(clock_skew):
        try:
            response.is_valid(data, request_id=request_id, raise_exceptions=True)
        except VE as exc:
            reason = _CODES.get(exc.code, Reason.MALFORMED_RESPONSE)
            if exc.code == VE.WRONG_SUBJECTCONFIRMATION:
                reason = _subject_confirmation_reason(response, acs_url, request_id)
            raise Rejected(reason, str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - xmlsec and lxml errors on hostile input
            raise Rejected(Reason.SIGNATURE_INVALID, f"verification failed: {exc.__class__.__name__}") from None
    _check_one_assertion(response)
    _check_profile(account, response, acs_url, request_id)
    try:
        nameid = response.get_nameid_data()
        attributes = response.get_attributes()
        assertion_id = response.get_assertion_id()
    except VE as exc:
        raise Rejected(_CODES.get(exc.code, Reason.MALFORMED_RESPONSE), str(exc)) from None
    not_on_or_after = response.get_assertion_not_on_or_after()
    if not_on_or_after is None:  # _check_profile requires it; never store a replay entry without an end
        raise Rejected(Reason.MALFORMED_RESPONSE, "no usable SubjectConfirmationData NotOnOrAfter")
    return ValidatedAssertion(
        assertion_id=assertion_id or "", nameid=nameid.get("Value") or "", nameid_format=nameid.get("Format") or "",
        attributes={k: [v if isinstance(v, str) else str(v) for v in vals] for k, vals in attributes.items()},
        not_on_or_after=_utc(not_on_or_after),
        session_index=response.get_session_index(),
        session_not_on_or_after=_utc(response.get_session_not_on_or_after()))


def _utc(timestamp: int | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, timezone.utc).replace(tzinfo=None) if timestamp else None


def _check_one_assertion(response: OneLogin_Saml2_Response) -> None:
    """Exactly one assertion, encrypted or not, as received and once decrypted.

    python3-saml counts them too (through the XPath the speed-ups replace); this count does not depend on it. A
    second assertion anywhere, even inside the encrypted one, is a wrapping attempt or a broken IdP: never a choice.
    """
    received = response.document  # the decrypted document is another tree only when the assertion came encrypted
    for document in (received, response.decrypted_document) if response.encrypted else (received,):
        if sum(1 for _ in document.iter(tag=_ASSERTIONS)) != 1:  # python3-saml's iter() takes one tag argument
            raise Rejected(Reason.MALFORMED_RESPONSE, "the Response must hold exactly one assertion, encrypted or not")


def _check_profile(account: Account, response: OneLogin_Saml2_Response, acs_url: str, request_id: str) -> None:
    # python3-saml compares Destination and Recipient by prefix/substring, accepts a missing
    # AudienceRestriction, and does not require NotOnOrAfter: the Web SSO profile does.
    destination = response.document.get("Destination")
    if destination != acs_url:
        raise Rejected(Reason.DESTINATION_MISMATCH, f"Destination is {destination!r}, not the ACS URL")
    entity_id = sp_urls(account.domain).entity_id
    restrictions = response._query_assertion("/saml:Conditions/saml:AudienceRestriction")  # the signed assertion
    if not restrictions:
        raise Rejected(Reason.AUDIENCE_MISMATCH, "the assertion has no AudienceRestriction")
    for restriction in restrictions:
        audiences = [OneLogin_Saml2_XML.element_text(a) for a in restriction.findall("saml:Audience", C.NSMAP)]
        if entity_id not in audiences:
            raise Rejected(Reason.AUDIENCE_MISMATCH, "an AudienceRestriction does not name the SP Entity ID")
    bearers = [scd for scd in _bearer_data(response)]
    if not bearers:
        raise Rejected(Reason.MALFORMED_RESPONSE, "no bearer SubjectConfirmationData")
    for scd in bearers:
        if scd.get("Recipient") != acs_url:
            raise Rejected(Reason.DESTINATION_MISMATCH, "Recipient is not the ACS URL")
        if not scd.get("NotOnOrAfter"):
            raise Rejected(Reason.MALFORMED_RESPONSE, "SubjectConfirmationData has no NotOnOrAfter")
        if scd.get("InResponseTo") not in (None, request_id):
            raise Rejected(Reason.REQUEST_UNKNOWN_OR_USED, "SubjectConfirmationData answers another request")


def _bearer_data(response: OneLogin_Saml2_Response) -> list:
    nodes = response._query_assertion("/saml:Subject/saml:SubjectConfirmation")
    found = []
    for node in nodes:
        if node.get("Method") == C.CM_BEARER:
            found.extend(node.findall("saml:SubjectConfirmationData", C.NSMAP))
    return found


def _subject_confirmation_reason(response: OneLogin_Saml2_Response, acs_url: str, request_id: str) -> Reason:
    """Which part of the SubjectConfirmation python3-saml refused (it reports them all as one)."""
    now = OneLogin_Saml2_Utils.now()
    for scd in _bearer_data(response):
        if scd.get("InResponseTo") not in (None, request_id):
            return Reason.REQUEST_UNKNOWN_OR_USED
        if scd.get("Recipient") and acs_url not in scd.get("Recipient"):
            return Reason.DESTINATION_MISMATCH
        try:
            if scd.get("NotOnOrAfter") and OneLogin_Saml2_Utils.parse_SAML_to_time(scd.get("NotOnOrAfter")) <= now:
                return Reason.EXPIRED
            if scd.get("NotBefore") and OneLogin_Saml2_Utils.parse_SAML_to_time(scd.get("NotBefore")) > now:
                return Reason.NOT_YET_VALID
        except ValueError:
            return Reason.MALFORMED_RESPONSE
    return Reason.MALFORMED_RESPONSE


# --- Per-process caches -------------------------------------------------------------------------

SETTINGS_CACHE_SIZE = 1024  # accounts; the least recently used settings object goes first
_settings_cache: OrderedDict[tuple, tuple[tuple, dict, OneLogin_Saml2_Settings]] = OrderedDict()
_settings_lock = threading.Lock()


def _settings(account: Account, keys: sp_keys.SpKeyMaterial | None = _WANTED,
              decrypt_with_next: bool = False) -> OneLogin_Saml2_Settings:
    """The account's python3-saml settings, built once per process for each version of its SSO settings.

    SsoConfig.version is bumped on every change of the SSO settings; the settings dict is compared too, so
    anything else that changes it (domain, base URL, a certificate row edited by hand) is never served stale.
    python3-saml only reads a settings object after building it, so one object serves every thread.
    """
    config = account.sso_config
    if keys is _WANTED:
        keys = sp_keys.material(account) if _wants_keys(config) else None
        if _wants_keys(config) and (keys is None or keys.key_pem is None):
            # Never fall back to unsigned requests or unencrypted assertions the account asked to refuse.
            raise Rejected(Reason.SP_KEY_UNAVAILABLE, "the account has no SP key pair" if keys is None else
                           "its Fernet token does not decrypt with PORTAL_KEY_ENCRYPTION_KEY or PORTAL_SECRET_KEY")
    wanted = settings_dict(account, config, keys=keys, decrypt_with_next=decrypt_with_next)
    slot = (account.id, decrypt_with_next, keys is not None)
    key = (account.id, config.version if config is not None else 0)
    with _settings_lock:
        hit = _settings_cache.get(slot)
        if hit is not None and hit[0] == key and hit[1] == wanted:
            _settings_cache.move_to_end(slot)
            return hit[2]
    # python3-saml fills its defaults into the dict it is given: hand it a copy so `wanted` stays comparable.
    settings = OneLogin_Saml2_Settings(copy.deepcopy(wanted))
    with _settings_lock:
        _settings_cache[slot] = (key, wanted, settings)
        _settings_cache.move_to_end(slot)
        while len(_settings_cache) > SETTINGS_CACHE_SIZE:
            _settings_cache.popitem(last=False)
    return settings


def clear_caches() -> None:
    """Forget every cached settings object of this process, and the speed-ups' keys, schemas and XPaths."""
    with _settings_lock:
        _settings_cache.clear()
    saml_speedups.clear_caches()
    sp_keys.clear_cache()


def _url_parts(url: str) -> dict:
    parts = urlsplit(url)
    return {"https": "on" if parts.scheme == "https" else "off", "http_host": parts.netloc,
            "script_name": parts.path, "get_data": {}, "post_data": {}}


def signed_by(response: OneLogin_Saml2_Response, certificates: list[str]) -> bool:
    """Whether the Response's or its assertion's signature verifies against one of certificates (PEM).

    A ds:KeyInfo only names a certificate, and anyone can copy an IdP's public one into junk they signed
    with their own key: what counts as signed is a signature that verified.
    """
    if not certificates:
        return False
    # The Response's signature covers the document as sent (an EncryptedAssertion included); the
    # assertion's own signature is inside the decrypted one. Copies: xmlsec registers IDs on what it checks.
    checks = ((response.document, OneLogin_Saml2_Utils.RESPONSE_SIGNATURE_XPATH),
              (readable_document(response), OneLogin_Saml2_Utils.ASSERTION_SIGNATURE_XPATH))
    return any(OneLogin_Saml2_Utils.validate_sign(copy.deepcopy(document), xpath=xpath, multicerts=certificates)
               for document, xpath in checks if document is not None)
