"""SSRF guard: postbacks go only to http(s) hosts whose every address is public.

The check resolves the host and hands back the address it approved, so the sender connects to
exactly that address: a DNS answer that changes between check and connect cannot redirect us.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES: Final = ("http", "https")
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")


class UnsafeTarget(ValueError):
    """The URL may not be fetched: wrong scheme, no host, or a non-public address."""


class ResolveFailed(OSError):
    """The host name did not resolve (possibly temporary, so delivery retries it)."""


@dataclass(frozen=True, slots=True)
class Target:
    """An approved destination: the URL's host and port, and the addresses to connect to."""

    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def _translated_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 host that an IPv4-mapped or NAT64 (DNS64) address stands for."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a tunnelling address (6to4, Teredo) carries inside it."""
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why `ip` is not a public unicast address (None when it is fine to contact)."""
    if isinstance(ip, ipaddress.IPv6Address):
        translated = _translated_ipv4(ip)
        if translated is not None:  # the packet really goes to this IPv4 host: judge it alone
            reason = blocked_reason(translated)
            return None if reason is None else f"{reason} (as {ip})"
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            reason = blocked_reason(embedded)
            if reason is not None:
                return f"{reason} (embedded in {ip})"
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("site-local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),
        ("not globally routable", not ip.is_global),
    )
    for name, hit in checks:
        if hit:
            return f"{ip} is {name}"
    return None


def split_target(url: str) -> tuple[str, str, int]:
    """The scheme, host and port of an http(s) URL, or `UnsafeTarget` saying what is wrong."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UnsafeTarget(f"scheme must be http or https, got {parts.scheme!r}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:  # a port that is not a number or out of range
        raise UnsafeTarget(f"bad port: {exc}") from None
    if not host:
        raise UnsafeTarget("URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("credentials in the URL are not allowed")
    return scheme, host, port or (443 if scheme == "https" else 80)


def literal_address(host: str) -> IPAddress | None:
    """The address when `host` is an IP literal (IPv6 zone ids are refused), else None."""
    if "%" in host:  # a scope id picks an interface, which a remote caller must not choose
        raise UnsafeTarget("IPv6 zone ids are not allowed")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the host resolves to (a literal resolves to itself)."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolveFailed(f"cannot resolve {host!r}: {exc}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise ResolveFailed(f"{host!r} has no addresses")
    return list(dict.fromkeys(addresses))


async def check_target(url: str, allow_private: bool) -> Target:
    """Resolve the URL's host and approve its addresses; refuse if any one is not public."""
    scheme, host, port = split_target(url)
    addresses = await resolve(host, port)
    if not allow_private:
        for address in addresses:
            reason = blocked_reason(address)
            if reason is not None:
                raise UnsafeTarget(f"host {host!r} resolves to a refused address: {reason}")
    return Target(scheme=scheme, host=host, port=port, addresses=tuple(addresses))
