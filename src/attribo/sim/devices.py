"""Genuine-looking phones: platform, ids with ATT and limit-ad-tracking, NAT IPs, models, agents.

Numbers are drawn with numpy for the whole block at once; the wire `device` objects are then
encoded once per device, so every event of that device reuses the same bytes.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import msgspec
import numpy as np
from numpy.random import Generator

from attribo.sim import catalog
from attribo.sim.model import Chunk, World

_encode = msgspec.json.Encoder().encode
ZERO_ID = "00000000-0000-0000-0000-000000000000"
# Fields an ad network passes on a click or impression (no vendor ids: it cannot see them).
_TOUCH_FIELDS = ("platform", "idfa", "gaid", "ip", "user_agent", "os_version", "locale")


@dataclass(frozen=True)
class _CountryNets:
    """A country's IP prefixes as (first address, size) integer pairs."""

    starts: np.ndarray
    sizes: np.ndarray


@lru_cache(maxsize=64)
def _nets(prefixes: tuple[str, ...]) -> _CountryNets:
    nets = [ipaddress.IPv4Network(p) for p in prefixes]
    return _CountryNets(
        np.array([int(n.network_address) for n in nets], dtype=np.int64),
        np.array([n.num_addresses for n in nets], dtype=np.int64),
    )


def ip_strings(values: np.ndarray) -> list[str]:
    """Dotted quads of integer IPv4 addresses."""
    v = values.astype(np.int64)
    a, b, c, d = (v >> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255
    quads = zip(a.tolist(), b.tolist(), c.tolist(), d.tolist(), strict=True)
    return [f"{w}.{x}.{y}.{z}" for w, x, y, z in quads]


def random_ips(rng: Generator, prefixes: tuple[str, ...], n: int) -> np.ndarray:
    """`n` addresses spread over the prefixes (never the network or broadcast address)."""
    nets = _nets(prefixes)
    pick = rng.integers(0, len(nets.starts), n)
    return nets.starts[pick] + 1 + rng.integers(0, nets.sizes[pick] - 2)


def nat_ips(world: World, rng: Generator, country: int, n: int) -> np.ndarray:
    """Carrier-NAT addresses: a pool sized so that about `users_per_nat_ip` users share each."""
    params = world.params
    spec = params.countries[country]
    total_share = sum(c.share for c in params.countries)
    expected = params.installs * spec.share / total_share * params.cgnat_share
    pool = max(1, round(expected / params.users_per_nat_ip))
    nets = _nets(spec.prefixes)
    slot = rng.integers(0, pool, n)
    # Spread the pool over the first prefix with a multiplicative hash, so slots look random.
    return nets.starts[0] + 1 + (slot * 2_654_435_761) % (nets.sizes[0] - 2)


def uuids(rng: Generator, n: int, upper: bool) -> list[str]:
    """Random version-4 UUID strings."""
    raw = rng.integers(0, 2**63, (n, 2), dtype=np.int64)
    out = []
    for hi, lo in raw.tolist():
        h = f"{hi:016x}{lo:016x}"
        text = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[lo & 3]}{h[17:20]}-{h[20:]}"
        out.append(text.upper() if upper else text)
    return out


def hex_ids(rng: Generator, n: int) -> list[str]:
    """Random 16-hex-digit ids (Android's ANDROID_ID)."""
    return [f"{v:016x}" for v in rng.integers(0, 2**63, n, dtype=np.int64).tolist()]


def _choice(rng: Generator, table: tuple[tuple[Any, ...], ...], n: int) -> np.ndarray:
    weights = np.array([row[-1] for row in table], dtype=np.float64)
    return rng.choice(len(table), n, p=weights / weights.sum())


def register(
    chunk: Chunk,
    full: list[dict[str, Any]],
    app: np.ndarray,
    platform: np.ndarray,
    country: np.ndarray,
    same_touch_ip: np.ndarray,
    touch_ips: list[str] | None = None,
    browser_agents: list[str] | None = None,
    user_ids: list[str | None] | None = None,
) -> np.ndarray:
    """Add devices given as wire `device` dicts to the chunk; returns their rows."""
    devices = chunk.devices
    n = len(full)
    ok = np.zeros(n, dtype=np.bool_)
    for i, dev in enumerate(full):
        ad_id = dev.get("idfa") or dev.get("gaid")
        ok[i] = bool(ad_id) and ad_id != ZERO_ID
        key = ad_id if ok[i] else dev.get("idfv") or dev.get("android_id") or ""
        devices.keys.append(str(key).lower())
        devices.full.append(msgspec.Raw(_encode(dev)))
        touch = {k: dev[k] for k in _TOUCH_FIELDS if k in dev}
        if touch_ips is not None and not same_touch_ip[i]:
            touch["ip"] = touch_ips[i]
        if browser_agents is not None:
            touch["user_agent"] = browser_agents[i]
        devices.touch.append(msgspec.Raw(_encode(touch)))
    devices.user_ids.extend(user_ids if user_ids is not None else [None] * n)
    devices.app.append(np.asarray(app, dtype=np.int64))
    devices.platform.append(np.asarray(platform, dtype=np.int8))
    devices.country.append(np.asarray(country, dtype=np.int64))
    devices.ad_id_ok.append(ok)
    devices.same_touch_ip.append(np.asarray(same_touch_ip, dtype=np.bool_))
    rows = np.arange(devices.count, devices.count + n, dtype=np.int64)
    devices.count += n
    return rows


def draw_countries(world: World, rng: Generator, n: int) -> np.ndarray:
    """Countries by their install shares."""
    shares = np.array([c.share for c in world.params.countries], dtype=np.float64)
    return rng.choice(len(shares), n, p=shares / shares.sum())


def make_phones(world: World, chunk: Chunk, rng: Generator, app: np.ndarray) -> np.ndarray:
    """Genuine phones for users of `app` (one per entry); returns their device rows."""
    params = world.params
    n = len(app)
    country = draw_countries(world, rng, n)
    ios_share = np.array([c.ios_share for c in params.countries])[country]
    platform = (rng.random(n) >= ios_share).astype(np.int8)  # 0 ios, 1 android
    ips = np.zeros(n, dtype=np.int64)
    nat = rng.random(n) < params.cgnat_share
    for c, spec in enumerate(params.countries):
        mine = country == c
        both = mine & nat
        ips[both] = nat_ips(world, rng, c, int(both.sum()))
        alone = mine & ~nat
        ips[alone] = random_ips(rng, spec.prefixes, int(alone.sum()))
    other_ips = np.zeros(n, dtype=np.int64)  # Wi-Fi at home when the click happened, say
    for c, spec in enumerate(params.countries):
        mine = country == c
        other_ips[mine] = random_ips(rng, spec.prefixes, int(mine.sum()))
    same_ip = rng.random(n) < params.touch_ip_same_share
    consent = rng.random(n) < params.att_consent_share
    lat = rng.random(n) < params.lat_share
    zero_gaid = rng.random(n) < params.lat_zero_gaid_share
    iphone = _choice(rng, catalog.IPHONES, n)
    ios_ver = _choice(rng, catalog.IOS_VERSIONS, n)
    android = _choice(rng, catalog.ANDROIDS, n)
    android_ver = _choice(rng, catalog.ANDROID_VERSIONS, n)
    chrome = rng.integers(0, len(catalog.CHROME_VERSIONS), n)
    build_date = rng.integers(0, len(catalog.BUILD_DATES), n)
    build_no = rng.integers(1, 30, n)
    locale_pick = rng.random(n)
    signed_in = rng.random(n) < params.retention.user_id_share
    vendor_ids = uuids(rng, n, upper=True)
    ad_ids = uuids(rng, n, upper=False)
    android_ids = hex_ids(rng, n)
    user_numbers = rng.integers(10**8, 10**9, n).tolist()
    ip_text = ip_strings(ips)
    other_text = ip_strings(other_ips)
    full: list[dict[str, Any]] = []
    agents: list[str] = []
    user_ids: list[str | None] = []
    for i in range(n):
        spec = params.countries[int(country[i])]
        locale = spec.locales[int(locale_pick[i] * len(spec.locales))]
        if platform[i] == 0:
            version = catalog.IOS_VERSIONS[int(ios_ver[i])][0]
            agent = catalog.ios_user_agent(version)
            dev: dict[str, Any] = {"platform": "ios"}
            if consent[i]:
                dev["idfa"] = ad_ids[i].upper()
            dev["idfv"] = vendor_ids[i]
            model = catalog.IPHONES[int(iphone[i])][0]
            browser = agent
            limit = not consent[i]
        else:
            model, build, _ = catalog.ANDROIDS[int(android[i])]
            version = catalog.ANDROID_VERSIONS[int(android_ver[i])][0]
            chrome_v = catalog.CHROME_VERSIONS[int(chrome[i])]
            build_id = f"{build}.{catalog.BUILD_DATES[int(build_date[i])]}.{build_no[i]:03d}"
            agent = catalog.android_user_agent(version, model, build_id, chrome_v)
            browser = catalog.browser_user_agent(version, model, chrome_v)
            dev = {"platform": "android"}
            if not lat[i]:
                dev["gaid"] = ad_ids[i]
            elif zero_gaid[i]:
                dev["gaid"] = ZERO_ID
            dev["android_id"] = android_ids[i]
            limit = bool(lat[i])
        dev.update(
            ip=ip_text[i],
            user_agent=agent,
            os_version=version,
            model=model,
            locale=locale,
            limit_ad_tracking=bool(limit),
        )
        full.append(dev)
        agents.append(browser)
        user_ids.append(f"u{user_numbers[i]}" if signed_in[i] else None)
    return register(chunk, full, app, platform, country, same_ip, other_text, agents, user_ids)
