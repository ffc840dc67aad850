"""Why an SSO login was refused: machine code, what the user sees, and the admin's fix."""
from __future__ import annotations

import secrets
from enum import Enum

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread over the phone
_CONTACT = "Contact your account admin and give them the reference code below."


class Reason(str, Enum):
    """The machine reason code of an SSO login outcome (stored in the audit event's reason)."""

    SSO_DISABLED = "sso_disabled"
    RESPONSE_TOO_LARGE = "response_too_large"
    MALFORMED_RESPONSE = "malformed_response"
    UNSOLICITED_RESPONSE = "unsolicited_response"
    UNSOLICITED_RESTARTED = "unsolicited_restarted"  # not a refusal: the ACS restarted it as SP-initiated
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
    BROWSER_MISMATCH = "browser_mismatch"
    NAMEID_NOT_EMAIL = "nameid_not_email"
    USER_NOT_FOUND = "user_not_found"
    USER_IN_OTHER_ACCOUNT = "user_in_other_account"
    USER_INACTIVE = "user_inactive"
    EMAIL_DOMAIN_OF_OTHER_ACCOUNT = "email_domain_of_other_account"
    ASSERTION_NOT_ENCRYPTED = "assertion_not_encrypted"
    ASSERTION_DECRYPTION_FAILED = "assertion_decryption_failed"
    SP_KEY_UNAVAILABLE = "sp_key_unavailable"

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


def new_reference() -> str:
    """A reference code (SSO-XXXXXXXX) the user quotes and the admin finds the attempt by."""
    return "SSO-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "(not set)"


_USER = {
    Reason.SSO_DISABLED: "Single sign-on is not set up for this account, or it is turned off. "
                         "Contact your account admin.",
    Reason.RESPONSE_TOO_LARGE: "The sign-in response from your identity provider was too large to accept. " + _CONTACT,
    Reason.MALFORMED_RESPONSE: "The sign-in response from your identity provider could not be read. " + _CONTACT,
    Reason.UNSOLICITED_RESPONSE: "Your identity provider kept answering without the portal's sign-in request. "
                                 + _CONTACT,
    Reason.UNSOLICITED_RESTARTED: "You came from your identity provider's app tile; the portal signs you in "
                                  "through your identity provider once more.",
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
    Reason.BROWSER_MISMATCH: "This sign-in was not started in this browser. Start the login again here: "
                             "“Log in with SSO” on the login page.",
    Reason.NAMEID_NOT_EMAIL: "Your identity provider did not send your email address. " + _CONTACT,
    Reason.USER_NOT_FOUND: "There is no user with your email address in this account. " + _CONTACT,
    Reason.USER_IN_OTHER_ACCOUNT: "Your email address belongs to a user of another account, so it cannot sign in "
                                  "here. " + _CONTACT,
    Reason.USER_INACTIVE: "Your user is deactivated in this account. " + _CONTACT,
    Reason.EMAIL_DOMAIN_OF_OTHER_ACCOUNT: "Your email domain belongs to another account, so no user can be created "
                                          "for you here. " + _CONTACT,
    Reason.ASSERTION_NOT_ENCRYPTED: "Your identity provider sent your sign-in without the encryption this account "
                                    "requires. " + _CONTACT,
    Reason.ASSERTION_DECRYPTION_FAILED: "The sign-in response could not be decrypted. " + _CONTACT,
    Reason.SP_KEY_UNAVAILABLE: "Single sign-on cannot be used right now because of a configuration problem. "
                               + _CONTACT,
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
    Reason.UNSOLICITED_RESPONSE: "This browser was sent through an SP-initiated login {restarts} times within "
                                 "{window} seconds, and each time the IdP answered with a response nobody asked for "
                                 "(no InResponseTo) instead of answering the portal's AuthnRequest, so the portal "
                                 "stopped. Check that the IdP application's Single sign on URL is the SP Assertion "
                                 "Consumer Service URL `{acs_url}` and that the IdP answers SP-initiated requests; "
                                 "test the login flow from the SP Initiation URL `{sp_initiation_url}`.",
    Reason.UNSOLICITED_RESTARTED: "The IdP sent a response nobody asked for (no InResponseTo): an IdP-initiated "
                                  "login, e.g. from the Okta dashboard tile. It was not accepted (nothing in it is "
                                  "trusted); the browser was sent through an SP-initiated login at the SP Initiation "
                                  "URL `{sp_initiation_url}` instead, which signs the person in while their IdP "
                                  "session lasts. Nothing to fix; Okta's Default RelayState may name a portal path "
                                  "(e.g. /admin/teams) to land on afterwards. If one browser is restarted more than "
                                  "{max_restarts} times in {window} seconds, the portal stops with "
                                  "unsolicited_response.",
    Reason.IDP_STATUS_NOT_SUCCESS: "Okta refused the login: it sent status `{status}` ({status_message}) instead of "
                                   "`urn:oasis:names:tc:SAML:2.0:status:Success`. Check that the user is assigned to "
                                   "the Okta application (Assignments tab → Assign to People or Groups).",
    Reason.SIGNATURE_INVALID: "The response carried the signing certificate `{received_cert_fingerprint}` (SHA-256); "
                              "the active IdP Signature Certificates of this account are `{cert_fingerprints}` "
                              "({problem}). Copy the current X.509 Certificate from Okta's “View SAML setup "
                              "instructions” into IdP Signature Certificate (during rotation add the new one as well), "
                              "and make sure Okta signs the assertion with RSA-SHA256.",
    Reason.ISSUER_MISMATCH: "Okta sent Issuer `{received_issuer}`; the Identity Provider Issuer configured here is "
                            "`{idp_issuer}`. Make them match exactly: copy “Identity Provider Issuer” from Okta's SAML "
                            "setup instructions.",
    Reason.AUDIENCE_MISMATCH: "Okta sent Audience `{received_audience}`; the SP Entity ID is `{sp_entity_id}`. Make "
                              "them match exactly: paste the SP Entity ID into “Audience URI (SP Entity ID)” in Okta.",
    Reason.DESTINATION_MISMATCH: "Okta sent Destination `{received_destination}` and Recipient `{received_recipient}`; "
                                 "the SP Assertion Consumer Service URL is `{acs_url}`. Make them match exactly: paste "
                                 "it into “Single sign on URL” in Okta and enable “Use this for Recipient and "
                                 "Destination URL”.",
    Reason.EXPIRED: "The response was valid until `{received_not_on_or_after}` (UTC), but the portal received it at "
                    "`{checked_at}` (UTC), more than the allowed clock skew of {clock_skew} seconds later. Check the "
                    "clocks of the IdP and the portal (NTP), and that the user finished the login promptly.",
    Reason.NOT_YET_VALID: "The response is valid only from `{received_not_before}` (UTC), but the portal received it "
                          "at `{checked_at}` (UTC), more than the allowed clock skew of {clock_skew} seconds earlier. "
                          "The IdP's clock is ahead: check the clocks of the IdP and the portal (NTP).",
    Reason.REQUEST_UNKNOWN_OR_USED: "The response answers a login request this account did not send or already used "
                                    "(InResponseTo {received_in_response_to}). Use the SP Initiation URL "
                                    "{sp_initiation_url} to test the login flow; a repeated post may be a replay.",
    Reason.REQUEST_EXPIRED: "The user took longer than {request_ttl} seconds at the IdP. Ask them to start again from "
                            "the SP Initiation URL {sp_initiation_url}.",
    Reason.REPLAYED_ASSERTION: "The same assertion (ID {received_assertion_id}) was posted again. A browser re-post is "
                               "harmless; otherwise someone may be replaying a captured response.",
    Reason.BROWSER_MISMATCH: "The response answers a login that was started in another browser (InResponseTo "
                             "{received_in_response_to}), or the browser dropped the portal's short-lived sign-in "
                             "cookie. A user who opens the SSO link in one browser and finishes in another only needs "
                             "to start again; otherwise someone tried to sign a person into another account's session "
                             "(login CSRF) and the portal refused it.",
    Reason.NAMEID_NOT_EMAIL: "The NameID Okta sent, `{received_nameid}` (format `{received_nameid_format}`), was "
                             "refused: {nameid_problem}. The NameID must be the user's email address in plain ASCII, "
                             "sent with Name ID format EmailAddress "
                             "(`urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress`). In the Okta application "
                             "set Name ID format to EmailAddress and Application username to Email; if it already "
                             "is, correct the user's email in Okta to plain ASCII. Look-alike letters (the Kelvin "
                             "sign K, full-width or Cyrillic letters) are refused on purpose, so that nobody can pose "
                             "as another user.",
    Reason.USER_NOT_FOUND: "Okta sent NameID `{email}`, but no user of this account has that email and Auto-create "
                           "users is off. Create the user on the Users page with exactly this email, or turn on "
                           "Auto-create users (Single Sign-On, step 3).",
    Reason.USER_IN_OTHER_ACCOUNT: "Okta sent NameID `{email}`, which belongs to a user of another account; one "
                                  "email lives in one account only. Check that users are assigned to the right Okta "
                                  "application.",
    Reason.EMAIL_DOMAIN_OF_OTHER_ACCOUNT: "Okta sent NameID `{email}`, whose email domain another account has "
                                          "verified by DNS; Auto-create users never creates users at another "
                                          "account's verified email domain, and nothing was written. If these people "
                                          "belong to this account, create them here first (they must not exist in "
                                          "the other account), or check that the Okta application's users are "
                                          "assigned to the right account.",
    Reason.USER_INACTIVE: "Okta sent NameID `{email}`; that user is deactivated. Reactivate the user on the Users page "
                          "if they should have access, or unassign them in Okta.",
    Reason.ASSERTION_NOT_ENCRYPTED: "“Want encrypted assertions” is on, but the IdP sent the assertion unencrypted. "
                                    "In Okta: General → SAML Settings → Edit → Show Advanced Settings, set Assertion "
                                    "Encryption to Encrypted and upload the SP certificate (download it from Account "
                                    "settings → Security → Single Sign-On) as the Encryption Certificate. Or turn "
                                    "off “Want encrypted assertions” here.",
    Reason.ASSERTION_DECRYPTION_FAILED: "The IdP encrypted the assertion ({problem}), but not for one of this "
                                        "account's SP certificates. Download the current SP certificate from Account "
                                        "settings → Security → Single Sign-On and upload it in Okta as the Encryption "
                                        "Certificate (General → SAML Settings → Show Advanced Settings).",
    Reason.SP_KEY_UNAVAILABLE: "Signed AuthnRequests or encrypted assertions are on, but the account's SP private key "
                               "cannot be read ({problem}): PORTAL_KEY_ENCRYPTION_KEY or PORTAL_SECRET_KEY differs "
                               "from the one it was stored under. Restore that key on every server, or run `flask "
                               "sso-config rotate-sp-key DOMAIN` then `--finish` and upload the new SP certificate to "
                               "the IdP.",
}
