"""SSRF guard for partner-supplied webhook URLs.

A URL is accepted only if every address its host resolves to is a public unicast address: no private,
loopback, link-local (cloud metadata at 169.254.169.254), multicast, reserved, unspecified or shared
(100.64/10) ranges, in IPv4 or IPv6, including IPv4 embedded in IPv6 (mapped, 6to4, Teredo, NAT64).
The check runs when the endpoint is saved *and* before every delivery, and the delivery connects to the
address that was checked (pinned), so a DNS answer that changes in between (rebinding) cannot redirect it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from notifications.domain.runtime import Resolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")


class UnsafeUrl(ValueError):
    """The URL is not an acceptable webhook target; the message says why (safe to show)."""


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str  # as written in the URL (a name or an address)
    port: int
    addresses: tuple[str, ...]  # all checked addresses; the delivery connects to the first

    @property
    def pinned_address(self) -> str:
        return self.addresses[0]


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
    if address in _SHARED_ADDRESS_SPACE:
        return False
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def parse_url(url: str, *, require_https: bool) -> SplitResult:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"not a valid URL: {exc}") from None
    allowed_schemes = ("https",) if require_https else ("https", "http")
    if parts.scheme not in allowed_schemes:
        raise UnsafeUrl("the URL must use " + " or ".join(allowed_schemes))
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("credentials in the URL are not allowed")
    if port == 0:
        raise UnsafeUrl("port 0 is not allowed")
    return parts


async def check_target(
    url: str, *, resolve: Resolver, allow_private: bool, require_https: bool
) -> Target:
    """Resolve and check the URL's host; raise ``UnsafeUrl`` when it is not a safe target."""
    parts = parse_url(url, require_https=require_https)
    host = parts.hostname
    assert host is not None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = await resolve(host, port)
        except OSError:
            raise UnsafeUrl(f"the host {host!r} does not resolve") from None
        if not addresses:
            raise UnsafeUrl(f"the host {host!r} does not resolve")
    if not allow_private:
        for raw in addresses:
            # getaddrinfo may give scoped IPv6 ("fe80::1%eth0"); the scope does not change the range.
            address = ipaddress.ip_address(raw.split("%", 1)[0])
            if not is_public(address):
                raise UnsafeUrl(
                    f"the host {host!r} resolves to {address}, which is not a public address"
                )
    return Target(url=url, scheme=parts.scheme, host=host, port=port, addresses=tuple(addresses))
