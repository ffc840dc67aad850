"""Look up an email domain's `portal-verification=<token>` TXT record through dnspython (nothing written)."""
from __future__ import annotations

from dataclasses import dataclass

import dns.exception
import dns.resolver

from portal.audit import Reason
from portal.config import resolver_address

RECORD_PREFIX = "portal-verification="


@dataclass(frozen=True)
class Lookup:
    """What the resolver said about one domain: reason None when the expected record is there."""
    reason: Reason | None
    message: str

    @property
    def verified(self) -> bool:
        return self.reason is None

    @property
    def definitive(self) -> bool:
        """Whether the answer proves the record is absent (not merely that the resolver failed)."""
        return self.reason in (Reason.DNS_NO_TXT_RECORD, Reason.DNS_WRONG_TOKEN, Reason.DNS_NXDOMAIN)


def record_value(token: str) -> str:
    """The TXT value the account publishes on the domain."""
    return RECORD_PREFIX + token


def make_resolver(address: str | None, timeout: float) -> dns.resolver.Resolver:
    """A resolver for address ("host:port", None: the system's) that gives up after timeout seconds in all."""
    if address is None:
        resolver = dns.resolver.Resolver()
    else:
        host, port = resolver_address(address)
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [host]
        resolver.port = port
    resolver.timeout = resolver.lifetime = timeout  # lifetime bounds the whole lookup, retries included
    resolver.cache = None  # a record published a minute ago must be seen at the next Check
    return resolver


def lookup(domain: str, token: str, address: str | None, timeout: float) -> Lookup:
    """Ask the resolver for domain's TXT records and say whether `portal-verification=<token>` is among them."""
    try:
        resolver = make_resolver(address, timeout)
        answer = resolver.resolve(domain, "TXT", raise_on_no_answer=False, search=False)
    except dns.resolver.NXDOMAIN:
        return Lookup(Reason.DNS_NXDOMAIN, f"The domain {domain} does not exist in DNS (NXDOMAIN).")
    except dns.resolver.LifetimeTimeout:
        return Lookup(Reason.DNS_RESOLVER_TIMEOUT,
                      f"The DNS resolver did not answer within {timeout:g} seconds; try again later.")
    except dns.resolver.NoResolverConfiguration:
        return Lookup(Reason.DNS_RESOLVER_ERROR, "No DNS resolver is configured on the portal's server.")
    except (dns.resolver.NoNameservers, dns.exception.DNSException, OSError) as exc:
        return Lookup(Reason.DNS_RESOLVER_ERROR, f"The DNS lookup of {domain} failed: {_short(exc)}")
    values = []
    for rdata in answer.rrset or []:
        values.append(b"".join(rdata.strings).decode("utf-8", "replace").strip())
    expected = record_value(token)
    if expected in values:
        return Lookup(None, f"Found the TXT record {expected} on {domain}.")
    if any(v.startswith(RECORD_PREFIX) for v in values):
        return Lookup(Reason.DNS_WRONG_TOKEN, f"{domain} has a portal-verification TXT record, but with another "
                                              f"token; publish {expected}.")
    return Lookup(Reason.DNS_NO_TXT_RECORD, f"{domain} has no TXT record {expected} (yet: DNS changes can take "
                                            f"a while to appear).")


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]
