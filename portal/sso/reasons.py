"""Why an SSO login was refused: machine code, what the user sees, and the admin's fix."""
from __future__ import annotations

from enum import Enum

_CONTACT = "Contact your account admin and give them the reference code below."


class Reason(str, Enum):
    """The machine reason code of an SSO login outcome (stored in the audit event's reason)."""

    SSO_DISABLED = "sso_disabled"
    RESPONSE_TOO_LARGE = "response_too_large"
    MALFORMED_RESPONSE = "malformed_response"
    UNSOLICITED_RESPONSE = "unsolicited_response"
    IDP_STATUS_NOT_SUCCESS = "idp_status_not_success"
    SIGNATURE_INVALID = "signature_invalid"
    ISSUER_MISMATCH = "issuer_mismatch"
    AUDIENCE_MISMATCH = "audience_mismatch"
    DESTINATION_MISMATCH = "destination_mismatch"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REQUEST_UNKNOWN_OR_USED = "request_unknown_or_used"
    REQUEST_EXPIRED = "request_expired"
    REPLAYED_ASSERTION = "replayed_assertion"
    NAMEID_NOT_EMAIL = "nameid_not_email"
    USER_NOT_FOUND = "user_not_found"
    USER_IN_OTHER_ACCOUNT = "user_in_other_account"
    USER_INACTIVE = "user_inactive"

    @property
    def code(self) -> str:
        return self.value

    @property
    def user_message(self) -> str:
        """What the person who tried to sign in is told (no internals)."""
        return _USER[self]

    @property
    def admin_fix(self) -> str:
        """The fix template, with {placeholders} for the account's values."""
        return _FIX[self]

    def fix_for(self, values: dict) -> str:
        """The admin fix with the account's actual values filled in."""
        return self.admin_fix.format_map(_Missing(values))


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "(not set)"


_USER = {
    Reason.SSO_DISABLED: "Single sign-on is not set up for this account, or it is turned off. "
                         "Contact your account admin.",
    Reason.RESPONSE_TOO_LARGE: "The sign-in response from your identity provider was too large to accept. " + _CONTACT,
    Reason.MALFORMED_RESPONSE: "The sign-in response from your identity provider could not be read. " + _CONTACT,
    Reason.UNSOLICITED_RESPONSE: "Sign-in must start from the portal. Open the SP Initiation URL of your account "
                                 "(or “Log in with SSO” on the login page) and try again.",
    Reason.IDP_STATUS_NOT_SUCCESS: "Your identity provider did not sign you in. " + _CONTACT,
    Reason.SIGNATURE_INVALID: "The sign-in response could not be verified. " + _CONTACT,
    Reason.ISSUER_MISMATCH: "The sign-in response came from an identity provider this account does not trust. "
                            + _CONTACT,
    Reason.AUDIENCE_MISMATCH: "The sign-in response was meant for another application. " + _CONTACT,
    Reason.DESTINATION_MISMATCH: "The sign-in response was sent to the wrong address. " + _CONTACT,
    Reason.EXPIRED: "The sign-in response has expired. Start the login again; if it keeps happening, " + _CONTACT[0].lower()
                    + _CONTACT[1:],
    Reason.NOT_YET_VALID: "The sign-in response is not valid yet (a clock may be wrong). " + _CONTACT,
    Reason.REQUEST_UNKNOWN_OR_USED: "This sign-in link was already used or is unknown. Start the login again.",
    Reason.REQUEST_EXPIRED: "The sign-in took too long and expired. Start the login again.",
    Reason.REPLAYED_ASSERTION: "This sign-in response was already used. Start the login again.",
    Reason.NAMEID_NOT_EMAIL: "Your identity provider did not send your email address. " + _CONTACT,
    Reason.USER_NOT_FOUND: "There is no user with your email address in this account. " + _CONTACT,
    Reason.USER_IN_OTHER_ACCOUNT: "Your email address belongs to a user of another account, so it cannot sign in "
                                  "here. " + _CONTACT,
    Reason.USER_INACTIVE: "Your user is deactivated in this account. " + _CONTACT,
}

# Worded from the guide's Troubleshooting list; placeholders are filled with the account's values.
_FIX = {
    Reason.SSO_DISABLED: "Turn on single sign-on and fill in IdP Login URL, Identity Provider Issuer and IdP "
                         "Signature Certificate on Account settings → Security → Single Sign-On.",
    Reason.RESPONSE_TOO_LARGE: "The IdP sent {received_bytes} bytes (limit {limit_bytes}). Usually far too many "
                               "group values: narrow the Group Attribute Statement filter (Matches regex) in Okta.",
    Reason.MALFORMED_RESPONSE: "The ACS received something that is not a valid SAML 2.0 Response ({problem}). Check "
                               "that the Single sign on URL in Okta is the SP Assertion Consumer Service URL {acs_url} "
                               "and review the SAML response attributes; if nobody was signing in, it may be an attack.",
    Reason.UNSOLICITED_RESPONSE: "Only the SP-initiated flow is supported: users must start from the SP Initiation URL "
                                 "{sp_initiation_url} (or Log in with SSO), not from the Okta dashboard tile. In Okta, "
                                 "you can point the app tile at the SP Initiation URL.",
    Reason.IDP_STATUS_NOT_SUCCESS: "Okta refused the login (status {status}). Check that the user is assigned to the "
                                   "Okta application (Assignments tab → Assign to People or Groups).",
    Reason.SIGNATURE_INVALID: "The response was not signed by an active IdP Signature Certificate of this account "
                              "({problem}). Copy the current X.509 Certificate from Okta's “View SAML setup "
                              "instructions” into IdP Signature Certificate (during rotation add the new one as well), "
                              "and make sure Okta signs with RSA-SHA256. Certificates configured: {cert_fingerprints}; "
                              "the response carried: {received_cert_fingerprint}.",
    Reason.ISSUER_MISMATCH: "The Identity Provider Issuer must equal Okta's “Identity Provider Issuer” exactly. "
                            "Configured: {idp_issuer}; received: {received_issuer}.",
    Reason.AUDIENCE_MISMATCH: "Audience mismatch: the Audience URI in Okta must equal the SP Entity ID shown on the SSO "
                              "settings page: {sp_entity_id} (received: {received_audience}).",
    Reason.DESTINATION_MISMATCH: "The Single sign on URL in Okta must equal the SP Assertion Consumer Service URL "
                                 "{acs_url} exactly, with “Use this for Recipient and Destination URL” enabled "
                                 "(received Destination {received_destination}, Recipient {received_recipient}).",
    Reason.EXPIRED: "The response was outside its validity window (NotOnOrAfter {received_not_on_or_after}). Check the "
                    "clocks of the IdP and the portal; the portal allows {clock_skew} seconds of difference.",
    Reason.NOT_YET_VALID: "The response is not valid yet (NotBefore {received_not_before}). Check the clocks of the IdP "
                          "and the portal; the portal allows {clock_skew} seconds of difference.",
    Reason.REQUEST_UNKNOWN_OR_USED: "The response answers a login request this account did not send or already used "
                                    "(InResponseTo {received_in_response_to}). Use the SP Initiation URL "
                                    "{sp_initiation_url} to test the login flow; a repeated post may be a replay.",
    Reason.REQUEST_EXPIRED: "The user took longer than {request_ttl} seconds at the IdP. Ask them to start again from "
                            "the SP Initiation URL {sp_initiation_url}.",
    Reason.REPLAYED_ASSERTION: "The same assertion (ID {received_assertion_id}) was posted again. A browser re-post is "
                               "harmless; otherwise someone may be replaying a captured response.",
    Reason.NAMEID_NOT_EMAIL: "In the Okta application set Name ID format to EmailAddress and Application username to "
                             "Email (received format {received_nameid_format}, value {received_nameid}).",
    Reason.USER_NOT_FOUND: "No user of this account has the email {email} and Auto-create users is off. Create the user "
                           "with an email matching the NameID, or enable Auto-create users.",
    Reason.USER_IN_OTHER_ACCOUNT: "The email {email} belongs to a user of another account; one email lives in one "
                                  "account only. Check that users are assigned to the right Okta application.",
    Reason.USER_INACTIVE: "The user {email} is deactivated. Reactivate the user on the Users page if they should "
                          "have access, or unassign them in Okta.",
}
