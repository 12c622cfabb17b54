"""SSRF classification: only public unicast addresses pass, in IPv4 and IPv6 spellings."""

from __future__ import annotations

import ipaddress

import pytest

from attribo.postbacks.ssrf import UnsafeTarget, blocked_reason, literal_address, split_target

BLOCKED = {
    "127.0.0.1": "loopback",
    "127.255.255.254": "loopback",
    "::1": "loopback",
    "10.0.0.1": "private",
    "10.255.255.255": "private",
    "172.16.0.1": "private",
    "172.31.255.254": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "link-local",  # cloud metadata
    "fe80::1": "link-local",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "ff02::1": "multicast",
    "240.0.0.1": "",  # class E
    "255.255.255.255": "",
    "100.64.0.1": "not globally routable",  # carrier-grade NAT
    "192.0.2.1": "",  # documentation range
    "198.18.0.1": "",  # benchmarking
    "2001:db8::1": "",
    "fec0::1": "",  # deprecated site-local
    "::ffff:127.0.0.1": "loopback",
    "::ffff:10.1.2.3": "private",
    "::ffff:169.254.169.254": "link-local",
    "::ffff:0.0.0.0": "unspecified",
    "64:ff9b::7f00:1": "loopback",  # NAT64 of 127.0.0.1
    "64:ff9b::a00:1": "private",  # NAT64 of 10.0.0.1
    "2002:c0a8:101::1": "private",  # 6to4 of 192.168.1.1
    "::7f00:1": "",  # IPv4-compatible (deprecated) 127.0.0.1
}
ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "172.32.0.1",  # just outside 172.16/12
    "11.0.0.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",  # IPv4-mapped public address is the public host
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
]


@pytest.mark.parametrize(("address", "why"), sorted(BLOCKED.items()))
def test_non_public_addresses_are_blocked(address: str, why: str) -> None:
    reason = blocked_reason(ipaddress.ip_address(address))
    assert reason is not None, address
    assert why in reason


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.com/x", ("http", "example.com", 80)),
        ("HTTPS://Example.COM:8443/x?y", ("https", "example.com", 8443)),
        ("http://[::1]:9/x", ("http", "::1", 9)),
    ],
)
def test_split_target(url: str, expected: tuple[str, str, int]) -> None:
    assert split_target(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://example.com/", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("http:///nohost", "no host"),
        ("http://user:pw@example.com/", "credentials"),
        ("http://example.com:99999/", "port"),
        ("http://example.com:port/", "port"),
    ],
)
def test_bad_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(UnsafeTarget, match=message):
        split_target(url)


def test_literal_addresses_and_zone_ids() -> None:
    assert literal_address("127.0.0.1") == ipaddress.ip_address("127.0.0.1")
    assert literal_address("example.com") is None
    with pytest.raises(UnsafeTarget, match="zone"):
        literal_address("fe80::1%eth0")
