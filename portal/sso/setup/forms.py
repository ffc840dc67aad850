"""Forms of Account settings → Security → Single Sign-On (field-level checks; rules live in the services)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import BooleanField, SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

XML_FILES = FileAllowed(["xml"], "Upload the IdP metadata as an .xml file.")


class DomainForm(FlaskForm):
    domain = StringField("Custom domain", validators=[DataRequired(), Length(max=63)],
                         description="Lowercase letters, digits and hyphens, 3 to 63 characters. It is part of "
                                     "the SP Entity ID and the SP Initiation URL.")
    email_domains = TextAreaField(
        "Email domains", validators=[Optional(), Length(max=5000)],
        description="One per line (for example acme.com). Once you prove a domain with the DNS TXT record shown "
                    "below, people who type a work email at it on “Log in with SSO” are sent to this account's IdP.")


class SsoSettingsForm(FlaskForm):
    idp_login_url = StringField("IdP Login URL", validators=[Optional(), Length(max=2000)],
                                description="Okta: Identity Provider Single Sign-On URL.")
    idp_issuer = StringField("Identity Provider Issuer", validators=[Optional(), Length(max=1000)],
                             description="Okta: Identity Provider Issuer (http://www.okta.com/exk...).")
    idp_certificate = TextAreaField(
        "IdP Signature Certificate", validators=[Optional(), Length(max=65536)],
        description="Okta: X.509 Certificate. Paste it as it is, line breaks and all. It is added to the active "
                    "certificates below.")
    # Judged by content, not by name: Okta's download is "okta.cert"; .pem/.cer/.crt/.der all work.
    certificate_file = FileField("…or upload the certificate file (okta.cert, .pem, .cer, .crt, .der)")
    auto_create_users = BooleanField("Auto-create users",
                                     description="Create the user on their first successful SSO login.")
    auto_create_groups = BooleanField("Auto-create groups",
                                      description="Turn the IdP's groups into teams and keep memberships in sync.")
    group_filter = StringField("Group filter (regular expression)", validators=[Optional(), Length(max=1000)],
                               description="Only groups whose whole name matches this regular expression (RE2 syntax) "
                                           "become teams. Empty: all.")
    split_group_values = BooleanField("Split comma- or semicolon-separated group values",
                                      description="For IdPs that send all groups in one value (“a, b; c”).")


class EnableForm(FlaskForm):
    """Step 5: the button sends enabled=y to turn SSO on; without it SSO is turned off."""
    enabled = BooleanField("SSO enabled")


class CertificateAddForm(FlaskForm):
    new_certificate = TextAreaField("New IdP Signature Certificate", validators=[Optional(), Length(max=65536)],
                                description="The IdP's new certificate; the current ones stay active until you "
                                            "remove them.")
    new_certificate_file = FileField("…or upload the certificate file (okta.cert, .pem, .cer, .crt, .der)")


class EmailDomainCheckForm(FlaskForm):
    """Only the CSRF token: the email domain comes from the URL."""


class CertificateRemoveForm(FlaskForm):
    """Only the CSRF token: the certificate comes from the URL."""


class MetadataImportForm(FlaskForm):
    metadata_xml = TextAreaField("IdP metadata XML", validators=[Optional(), Length(max=1024 * 1024)],
                                 description="Okta: Sign On tab → Identity Provider metadata. Fills IdP Login URL, "
                                             "Identity Provider Issuer and the certificate(s).")
    metadata_file = FileField("…or upload the metadata file (.xml)", validators=[XML_FILES])


def uploaded(file_field, limit: int) -> bytes | None:
    """The bytes of an uploaded file (None when none was sent), at most limit bytes read."""
    storage = file_field.data
    if not storage or not getattr(storage, "filename", ""):
        return None
    return storage.read(limit + 1)


class TestSsoForm(FlaskForm):
    """Only the CSRF token: Test SSO runs against the saved settings."""


class RequireSsoForm(FlaskForm):
    require_sso = BooleanField("Require SSO",
                               description="Password login is refused for everyone but break-glass admins.")


class MetadataUrlForm(FlaskForm):
    idp_metadata_url = StringField("Metadata URL", validators=[Optional(), Length(max=2000)],
                                   description="Okta: Sign On tab → Metadata URL. The portal fetches it now and on "
                                               "every refresh: new signing certificates are added at once, ones "
                                               "gone from it are removed after a grace period. Leave empty and "
                                               "save to stop.")


class MetadataRefreshForm(FlaskForm):
    """Only the CSRF token: Refresh now fetches the saved Metadata URL."""


class AttributeMappingForm(FlaskForm):
    """Attribute mapping: a preset fills the three names; "Save attribute names" keeps them as typed."""
    attribute_preset = SelectField("Attribute preset", choices=[
        SelectChoice("okta", "Okta"), SelectChoice("entra", "Microsoft Entra ID"),
        SelectChoice("google", "Google Workspace"), SelectChoice("custom", "Custom names (type them below)")],
        description="Fills the three attribute names below with the IdP's usual names.")
    use_preset = SubmitField("Use preset")
    group_attribute = StringField("Group attribute", validators=[Length(max=1000)],
                                  description="The attribute whose values are the user's groups (Auto-create "
                                              "groups).")
    first_name_attribute = StringField("First name attribute", validators=[Length(max=1000)])
    last_name_attribute = StringField("Last name attribute", validators=[Length(max=1000)])
    save_names = SubmitField("Save attribute names")


class SpKeyOptionsForm(FlaskForm):
    """Signed AuthnRequests and encrypted assertions (the SP key pair is generated when first needed)."""
    sign_requests = BooleanField("Sign AuthnRequests",
                                 description="The portal signs each AuthnRequest with its SP key (Okta: “Signed "
                                             "Requests”, with the SP certificate as Signature Certificate).")
    want_encrypted_assertions = BooleanField(
        "Want encrypted assertions",
        description="Refuse assertions not encrypted for the SP certificate (Okta: Assertion Encryption "
                    "“Encrypted”, with the SP certificate as Encryption Certificate).")


class SpKeyCreateForm(FlaskForm):
    """Only the CSRF token: generates the SP key pair so its certificate can go to the IdP first."""
