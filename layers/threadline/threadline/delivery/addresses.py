"""Where a delivery may go. A tenant chooses the URL, so without a guard Threadline would call whatever the URL
names from inside its VPC: the instance metadata service, RDS, another tenant's connector on a private address.

Before each attempt the host is resolved and every address it resolves to must be a public (global) one: private,
loopback, link-local (169.254.169.254, the metadata service), carrier-grade NAT, multicast, reserved and unspecified
ranges are refused, IPv6 and IPv4-mapped forms included. The connection is then made to the address that was checked
(never resolved a second time), so a DNS answer that changes between the check and the connect (rebinding) cannot
slip a private address in. A host that is an address in any spelling the resolver reads as one (0xa9fea9fe,
2852039166, 0251.0376.0251.0376: inet_aton's forms) is checked as that address already when the URL is set. URLs
must be https; only when `WEBHOOK_ALLOW_LOOPBACK_HTTP` is set (local development and tests, never in AWS) may a URL
name a loopback address, over http or https.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

# The contract's limit (webhooks and connector callbacks share it), owned by the model that documents it.
from threadline.models.webhook_subscriptions import MAX_URL_CHARS

ALLOW_LOOPBACK_VARIABLE = "WEBHOOK_ALLOW_LOOPBACK_HTTP"

Resolver = Callable[[str, int], list[str]]


class AddressRefused(ValueError):
    """The URL may not be delivered to; the message says why (safe to show the tenant)."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    path: str  # with the query
    address: str  # the checked IP the connection goes to


def loopback_allowed() -> bool:
    return os.environ.get(ALLOW_LOOPBACK_VARIABLE, "").lower() in ("1", "true", "yes")


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def check_url(url: str, *, allow_loopback: bool | None = None) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a URL Threadline may deliver to, before any resolution."""
    allow_loopback = loopback_allowed() if allow_loopback is None else allow_loopback
    if len(url) > MAX_URL_CHARS:
        raise AddressRefused(f"url: must be at most {MAX_URL_CHARS} characters")
    # urlsplit drops tab, CR and LF and strips leading spaces, so the URL checked would not be the one stored.
    if any(character.isspace() or unicodedata.category(character) == "Cc" for character in url):
        raise AddressRefused("url: must not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AddressRefused("url: must be an absolute https URL") from None
    host = parts.hostname
    if parts.scheme not in ("https", "http") or not host:
        raise AddressRefused("url: must be an absolute https URL")
    if parts.username or parts.password:
        raise AddressRefused("url: must not carry credentials")
    if parts.scheme == "http" and not allow_loopback:
        raise AddressRefused("url: must use https")
    literal = _literal_address(host)
    if literal is not None:
        _check_address(literal, allow_loopback=allow_loopback, scheme=parts.scheme)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def resolve_destination(
    url: str, *, allow_loopback: bool | None = None, resolver: Resolver = system_resolver
) -> Destination:
    """Check the URL, resolve its host and check every address; the destination names the first one."""
    allow_loopback = loopback_allowed() if allow_loopback is None else allow_loopback
    scheme, host, port, path = check_url(url, allow_loopback=allow_loopback)
    literal = _literal_address(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = resolver(host, port)
        except OSError:
            raise AddressRefused(f"{host} does not resolve") from None
        if not addresses:
            raise AddressRefused(f"{host} does not resolve")
    for address in addresses:
        # Every address must pass: a name that resolves to a public and a private address is refused whole.
        _check_address(ipaddress.ip_address(address), allow_loopback=allow_loopback, scheme=scheme, host=host)
    return Destination(scheme=scheme, host=host, port=port, path=path, address=addresses[0])


# What the system resolver reads as an IPv4 address beyond the dotted quad (inet_aton's forms): one to four parts,
# each decimal, octal (a leading 0) or hex (0x), the last filling the remaining bytes. 0xa9fea9fe, 2852039166,
# 0251.0376.0251.0376 and 169.254.43518 are all 169.254.169.254; without this they passed creation as names.
_INET_ATON_CHARACTERS = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not host.isascii():
        # As the resolver gets it: Python's socket module IDNA-encodes a name, which folds fullwidth digits.
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    if _INET_ATON_CHARACTERS.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _check_address(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_loopback: bool, scheme: str, host: str = ""
) -> None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    named = f"{host} resolves to {address}" if host else str(address)
    if address.is_loopback:
        if allow_loopback:
            return
        raise AddressRefused(f"url: {named}, a loopback address, is not allowed")
    if not address.is_global or address.is_multicast:
        raise AddressRefused(f"url: {named}, a private, link-local or reserved address, is not allowed")
    if scheme == "http":
        raise AddressRefused("url: must use https (http is allowed for loopback addresses in development only)")
