"""Accounts (tenants): creation, custom domains and the email domains that route Log in with SSO."""
