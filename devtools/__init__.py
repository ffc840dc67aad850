"""Developer tools: a local SAML IdP for trying SSO without an Okta tenant."""
