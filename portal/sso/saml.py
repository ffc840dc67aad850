"""The only module that imports python3-saml: per-account settings, request data, SP metadata."""
from __future__ import annotations

from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from portal.models import Account, SsoConfig
from portal.sso.urls import sp_urls

NAMEID_EMAIL = C.NAMEID_EMAIL_ADDRESS


def settings_dict(account: Account, config: SsoConfig | None = None, certificates: list[str] | None = None) -> dict:
    """python3-saml settings for account: strict, SP URLs from BASE_URL, the IdP's active certificates."""
    urls = sp_urls(account.domain)
    config = config or account.sso_config
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
        },
        "idp": idp,
        "security": {
            "authnRequestsSigned": False,
            "wantAssertionsSigned": True,
            "wantMessagesSigned": False,
            "wantNameId": True,
            "wantNameIdEncrypted": False,
            "wantAssertionsEncrypted": False,
            # Okta leaves out the AttributeStatement when no attribute statements are set up.
            "wantAttributeStatement": False,
            "requestedAuthnContext": False,
            "rejectDeprecatedAlgorithm": True,
            "signatureAlgorithm": C.RSA_SHA256,
            "digestAlgorithm": C.SHA256,
        },
    }


def sp_metadata(account: Account) -> str:
    """The SP metadata XML of account (entity ID, ACS with HTTP-POST, NameIDFormat emailAddress)."""
    settings = OneLogin_Saml2_Settings(settings_dict(account), sp_validation_only=True)
    metadata = settings.get_sp_metadata()
    return metadata.decode() if isinstance(metadata, bytes) else metadata


def validate_sp_metadata(xml: str | bytes) -> list[str]:
    """python3-saml's findings on SP metadata XML (empty list when valid)."""
    settings = OneLogin_Saml2_Settings(settings_dict_for_validation(), sp_validation_only=True)
    return list(settings.validate_metadata(xml))


def settings_dict_for_validation() -> dict:
    # validate_metadata only reads the document; the settings object just has to be constructible.
    return {"strict": True, "sp": {"entityId": "urn:validation", "assertionConsumerService": {
        "url": "https://validation.invalid/acs", "binding": C.BINDING_HTTP_POST}}, "idp": {}}
