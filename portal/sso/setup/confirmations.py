"""What the SSO page's destructive changes say in their confirmation step: the object and the consequence."""
from __future__ import annotations

from portal.models import Account, IdpCertificate, User


def remove_certificate(cert: IdpCertificate, remaining: int) -> tuple[str, list[str]]:
    """Question and consequences of removing an IdP Signature Certificate."""
    lines = [f"SAML responses signed with this certificate (SHA-256 {cert.sha256_fingerprint}) are refused from the "
             "moment you remove it. If your IdP still signs with it, every SSO login fails until you add the "
             "certificate it signs with now."]
    if remaining <= 1:
        lines.append("It is the only certificate: the portal refuses to remove it while SSO is enabled.")
    return f"Remove the IdP Signature Certificate “{cert.subject}”?", lines


def turn_sso_off(account: Account) -> tuple[str, list[str]]:
    """Question and consequences of disabling SSO."""
    lines = [f"Nobody of {account.name} can log in with SSO until you enable it again: people without a password "
             "cannot log in at all, and Okta's tile for the portal stops working."]
    if account.sso_config is not None and account.sso_config.require_sso:
        lines.append("Require SSO stops applying while SSO is off: everyone with a password may use it again.")
    return f"Turn SSO off for {account.name}?", lines


def require_sso(account: Account, break_glass: list[User]) -> tuple[str, list[str]]:
    """Question and consequences of turning Require SSO on."""
    names = ", ".join(u.email for u in break_glass) or "nobody"
    return (f"Require SSO for {account.name}?",
            [f"Password login is refused for everyone of {account.name} from now on; they sign in through your IdP. "
             f"Only break-glass admins ({names}) may still use a password if the IdP is down or misconfigured.",
             "Everyone else signed in with a password is signed out at their next request, on every device, and "
             "“Keep me signed in” is forgotten for them."])
