"""Where webhooks may go. An endpoint URL is http(s), carries no credentials, and resolves only
to public addresses: a webhook must never become a way to reach the bank's own network (SSRF).

Checked at registration and again at every delivery, because DNS can change in between. At
delivery the request is pinned to the address that was checked (the URL's host goes in the
``Host`` header and TLS SNI), so a second lookup cannot swap in a private one.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH = 2048
MAX_LABEL_LENGTH = 63
RESOLVE_TIMEOUT_S = 5.0
_DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeUrl(Exception):
    """The URL may not receive webhooks; the message says why, in words for an admin."""


@dataclass(frozen=True, slots=True)
class Destination:
    """Where one delivery connects: the URL (its host replaced by the checked address when
    pinned) and the request extras that keep the original host visible to the receiver."""

    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, Any]


def parse(url: str) -> httpx.URL:
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise UnsafeUrl("not a valid URL") from None
    if parsed.scheme not in _DEFAULT_PORTS:
        raise UnsafeUrl("the URL must be http or https")
    if not parsed.raw_host:
        raise UnsafeUrl("the URL has no host")
    host = parsed.raw_host.decode("ascii")
    # A name is dot-separated labels of 1 to 63 characters (RFC 1035); the resolver refuses
    # any other with an encoding error rather than a lookup failure. An IP literal has none.
    labels = host.removesuffix(".").split(".")
    if ":" not in host and not all(0 < len(label) <= MAX_LABEL_LENGTH for label in labels):
        raise UnsafeUrl(f"the host {host} is not a valid name")
    if parsed.userinfo:
        raise UnsafeUrl("the URL may not carry credentials")
    if parsed.fragment:
        raise UnsafeUrl("the URL may not have a fragment")
    return parsed


def blocked_reason(address: IPAddress) -> str | None:
    """Why an address may not receive webhooks, or None when it is a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
        for inner in embedded:
            if inner is not None and (reason := blocked_reason(inner)):
                return reason
    for reason, flag in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("not publicly routable", not address.is_global),
    ):
        if flag:
            return reason
    return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError):  # UnicodeError: a name IDNA cannot encode
        raise UnsafeUrl(f"the host {host} does not resolve") from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeUrl(f"the host {host} does not resolve")
    return addresses


async def destination(url: str | httpx.URL, *, allow_private: bool) -> Destination:
    """Check ``url`` and say where to connect. Refuses the host if *any* of its addresses is
    not public (a mixed answer is how DNS rebinding gets in)."""
    parsed = url if isinstance(url, httpx.URL) else parse(url)
    if allow_private:
        return Destination(url=parsed, headers={}, extensions={})
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
    addresses = await resolve(host, port)
    for address in addresses:
        if reason := blocked_reason(address):
            raise UnsafeUrl(f"{host} resolves to a {reason} address ({address})")
    return pin(parsed, addresses[0])


def pin(url: httpx.URL, address: IPAddress) -> Destination:
    """Connect to ``address`` while the receiver still sees ``url``'s host (Host, TLS SNI)."""
    host = url.raw_host.decode("ascii")
    if str(address) == host:
        return Destination(url=url, headers={}, extensions={})
    netloc = host if url.port is None else f"{host}:{url.port}"
    extensions = {"sni_hostname": host} if url.scheme == "https" else {}
    return Destination(
        url=url.copy_with(host=str(address)), headers={"Host": netloc}, extensions=extensions
    )
