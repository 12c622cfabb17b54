"""Synthetic but realistic attribution traffic, so benchmarks exercise real parsing costs.

Everything is drawn from one `random.Random(seed)`: the same seed gives the same events,
byte for byte. Devices, user agents, IP ranges and the event-type mix follow the shape of
real mobile ad traffic (many clicks and impressions, few installs, some in-app events).
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from typing import Any

import msgspec

DEVICE_POOL_SIZE = 2_000
WEB_POOL_SIZE = 100
DAY_MS = 86_400_000

# Event-type mix of real traffic: clicks dominate, installs are rare.
TYPE_WEIGHTS: dict[str, float] = {
    "click": 0.50,
    "impression": 0.25,
    "install": 0.03,
    "open": 0.10,
    "event": 0.12,
}

# (country, share, locales, public IPv4 prefixes of large ISPs and mobile carriers there).
_COUNTRIES: list[tuple[str, float, tuple[str, ...], tuple[str, ...]]] = [
    ("US", 0.35, ("en_US", "es_US"), ("73.0.0.0/8", "172.56.0.0/14", "174.192.0.0/10")),
    ("IN", 0.20, ("en_IN", "hi_IN"), ("117.192.0.0/10", "49.32.0.0/12", "106.192.0.0/12")),
    ("BR", 0.15, ("pt_BR",), ("179.96.0.0/13", "191.176.0.0/12", "177.32.0.0/12")),
    ("GB", 0.10, ("en_GB",), ("86.128.0.0/10", "81.96.0.0/12", "31.94.0.0/16")),
    ("DE", 0.10, ("de_DE", "en_DE"), ("87.128.0.0/10", "91.0.0.0/10", "93.192.0.0/10")),
    ("JP", 0.10, ("ja_JP",), ("60.32.0.0/12", "153.136.0.0/13", "114.160.0.0/12")),
]

# (machine model, marketing name) of common iPhones.
_IPHONES = [
    ("iPhone13,2", "iPhone 12"),
    ("iPhone14,5", "iPhone 13"),
    ("iPhone14,7", "iPhone 14"),
    ("iPhone15,2", "iPhone 14 Pro"),
    ("iPhone15,4", "iPhone 15"),
    ("iPhone16,1", "iPhone 15 Pro"),
    ("iPhone16,2", "iPhone 15 Pro Max"),
    ("iPhone17,3", "iPhone 16"),
]
# (iOS version, Darwin version, CFNetwork version).
_IOS_VERSIONS = [
    ("16.7.8", "22.6.0", "1410.1"),
    ("17.4.1", "23.4.0", "1494.0.7"),
    ("17.5.1", "23.5.0", "1496.0.7"),
    ("17.6.1", "23.6.0", "1498.700.2"),
    ("18.1.1", "24.1.0", "1568.200.51"),
    ("18.2.1", "24.2.0", "1568.300.101"),
    ("18.3.2", "24.3.0", "3826.400.120"),
]
# (model code, Android build id prefix) of common Android phones.
_ANDROIDS = [
    ("SM-S918B", "UP1A"),
    ("SM-A546B", "UP1A"),
    ("SM-A155F", "UP1A"),
    ("SM-G991B", "TP1A"),
    ("Pixel 8", "AP2A"),
    ("Pixel 7a", "AP2A"),
    ("23129RAA4G", "UKQ1"),
    ("2201117TG", "TKQ1"),
    ("CPH2581", "UKQ1"),
    ("moto g54 5G", "U1TD"),
]
_ANDROID_VERSIONS = ["11", "12", "13", "14", "15"]
_BUILD_DATES = ["230805", "231005", "240205", "240605", "241105"]
_CHROME_VERSIONS = ["124.0.6367.179", "126.0.6478.122", "129.0.6668.100", "131.0.6778.135"]
_DESKTOP_UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
]
_NETWORKS = ["meta", "google", "tiktok", "applovin", "unity", "snapchat"]
_CAMPAIGN_THEMES = ["ua_broad", "retarget_lapsed", "lookalike_payers", "brand_video"]
_IN_APP = [  # (name, weight); purchases carry revenue
    ("af_purchase", 0.15),
    ("level_up", 0.30),
    ("tutorial_complete", 0.15),
    ("add_to_cart", 0.15),
    ("sign_up", 0.10),
    ("ad_view", 0.15),
]
_CURRENCY = {"US": "USD", "IN": "INR", "BR": "BRL", "GB": "GBP", "DE": "EUR", "JP": "JPY"}
_PRICES = [0.99, 1.99, 4.99, 9.99, 19.99, 49.99]
_APP_VERSION = "3.14.2"
_CLICK_DEVICE_FIELDS = ("platform", "idfa", "gaid", "ip", "limit_ad_tracking", "locale")


@dataclass(frozen=True, slots=True)
class _Device:
    """One phone or browser, reused across many events like a real user."""

    device: dict[str, Any]
    click_device: dict[str, Any]
    country: str
    user_id: str | None


@dataclass(frozen=True, slots=True)
class _Ad:
    """One ad placement: what a click or impression `source` says."""

    network: str
    campaign: str
    campaign_id: str
    adset: str
    ad: str
    site_id: str | None


def _hex(rng: random.Random, bits: int) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def _uuid(rng: random.Random, upper: bool) -> str:
    h = _hex(rng, 128)
    text = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"
    return text.upper() if upper else text


def _ip(rng: random.Random, prefixes: tuple[ipaddress.IPv4Network, ...]) -> str:
    net = rng.choice(prefixes)
    # Skip the network and broadcast addresses of the prefix.
    return str(net[1 + rng.randrange(net.num_addresses - 2)])


def _ios_device(rng: random.Random, loc: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    machine, _ = rng.choice(_IPHONES)
    version, darwin, cfnet = rng.choice(_IOS_VERSIONS)
    uv = version.replace(".", "_")
    short = ".".join(version.split(".")[:2])
    browser = (
        f"Mozilla/5.0 (iPhone; CPU iPhone OS {uv} like Mac OS X) AppleWebKit/605.1.15 "
        f"(KHTML, like Gecko) Version/{short} Mobile/15E148 Safari/604.1"
    )
    sdk = f"Bench/{_APP_VERSION} CFNetwork/{cfnet} Darwin/{darwin}"
    att = rng.random() < 0.30  # share of iOS users who allow tracking
    device: dict[str, Any] = {"platform": "ios", "idfv": _uuid(rng, upper=True)}
    if att:
        device["idfa"] = _uuid(rng, upper=True)
    device.update(loc, os_version=version, model=machine, limit_ad_tracking=not att)
    return device, browser, sdk


def _android_device(rng: random.Random, loc: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    model, build = rng.choice(_ANDROIDS)
    version = rng.choice(_ANDROID_VERSIONS)
    chrome = rng.choice(_CHROME_VERSIONS)
    if rng.random() < 0.5:  # Chrome's reduced user agent hides the model
        browser = (
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{chrome.split('.')[0]}.0.0.0 Mobile Safari/537.36"
        )
    else:
        browser = (
            f"Mozilla/5.0 (Linux; Android {version}; {model}) AppleWebKit/537.36 "
            f"(KHTML, like Gecko) Chrome/{chrome} Mobile Safari/537.36"
        )
    build_id = f"{build}.{rng.choice(_BUILD_DATES)}.{rng.randrange(1, 30):03d}"
    sdk = f"Dalvik/2.1.0 (Linux; U; Android {version}; {model} Build/{build_id})"
    lat = rng.random() < 0.08
    device: dict[str, Any] = {"platform": "android", "android_id": _hex(rng, 64)}
    if not lat:
        device["gaid"] = _uuid(rng, upper=False)
    device.update(loc, os_version=version, model=model, limit_ad_tracking=lat)
    return device, browser, sdk


def _make_device(rng: random.Random, platform: str, nets: dict[str, Any]) -> _Device:
    country, _, locales, _ = rng.choices(_COUNTRIES, weights=[c[1] for c in _COUNTRIES])[0]
    loc = {"ip": _ip(rng, nets[country]), "locale": rng.choice(locales)}
    if platform == "ios":
        device, browser, sdk = _ios_device(rng, loc)
    elif platform == "android":
        device, browser, sdk = _android_device(rng, loc)
    else:
        browser = sdk = rng.choice(_DESKTOP_UAS)
        device = {"platform": "web", **loc}
    device["user_agent"] = sdk
    # What an ad network passes on a click: the ad id if allowed, IP and browser UA.
    click_device = {k: v for k, v in device.items() if k in _CLICK_DEVICE_FIELDS}
    click_device["user_agent"] = browser
    user_id = f"u{rng.randrange(10**9):09d}" if rng.random() < 0.4 else None
    return _Device(device, click_device, country, user_id)


def _make_ads(rng: random.Random) -> list[_Ad]:
    ads = []
    for network in _NETWORKS:
        for theme in rng.sample(_CAMPAIGN_THEMES, 3):
            campaign_id = str(rng.randrange(10**11, 10**12))
            for a in range(rng.randint(2, 3)):
                adset = f"{theme}_{rng.choice(['18-34', '25-44', 'all'])}_{a}"
                for v in range(rng.randint(2, 3)):
                    site = None
                    if network in ("applovin", "unity"):  # ad networks report the publisher app
                        site = f"pub_{rng.randrange(10**6):06d}"
                    ad = f"{theme}_{rng.choice(['video', 'static', 'playable'])}_v{v}"
                    ads.append(_Ad(network, f"{network}_{theme}", campaign_id, adset, ad, site))
    return ads


def _source(ad: _Ad, click_id: str | None) -> dict[str, Any]:
    src: dict[str, Any] = {
        "network": ad.network,
        "campaign": ad.campaign,
        "campaign_id": ad.campaign_id,
        "adset": ad.adset,
        "ad": ad.ad,
    }
    if ad.site_id:
        src["site_id"] = ad.site_id
    if click_id:
        src["click_id"] = click_id
    return src


def _in_app(rng: random.Random, event: dict[str, Any], dev: _Device) -> None:
    name = rng.choices([n for n, _ in _IN_APP], weights=[w for _, w in _IN_APP])[0]
    event["name"] = name
    if name == "af_purchase":
        event["revenue"] = rng.choice(_PRICES)
        event["currency"] = _CURRENCY[dev.country]
        event["properties"] = {"sku": f"gems_{rng.randint(1, 6)}", "quantity": 1}
    elif name == "level_up":
        event["properties"] = {"level": rng.randint(2, 80)}
    elif name == "ad_view":
        event["revenue"] = round(rng.uniform(0.001, 0.05), 4)
        event["currency"] = "USD"


def _one_event(
    rng: random.Random, app_id: str, kind: str, ts: int, dev: _Device, ads: list[_Ad]
) -> dict[str, Any]:
    event: dict[str, Any] = {"event_id": "", "type": kind, "app_id": app_id, "timestamp": ts}
    if kind in ("click", "impression"):
        device = dict(dev.click_device)
        click_id = _hex(rng, 96) if kind == "click" else None
        event["source"] = _source(rng.choice(ads), click_id)
        if click_id:
            event["click_id"] = click_id
    else:
        device = dict(dev.device)
        if dev.user_id and kind != "install":
            event["user_id"] = dev.user_id
        if kind == "install" and rng.random() < 0.3:  # e.g. Play install referrer
            event["click_id"] = _hex(rng, 96)
        if kind == "event":
            _in_app(rng, event, dev)
    event["device"] = device
    return event


def make_events(app_id: str, n: int, seed: int, start_ms: int) -> list[dict[str, Any]]:
    """`n` events of app `app_id` within the day before `start_ms`, identical for one seed."""
    rng = random.Random(seed)
    nets = {c: tuple(ipaddress.ip_network(p) for p in pfx) for c, _, _, pfx in _COUNTRIES}
    mobile = [
        _make_device(rng, "android" if i < DEVICE_POOL_SIZE * 0.65 else "ios", nets)
        for i in range(DEVICE_POOL_SIZE)
    ]
    web = [_make_device(rng, "web", nets) for _ in range(WEB_POOL_SIZE)]
    ads = _make_ads(rng)
    kinds = rng.choices(list(TYPE_WEIGHTS), weights=list(TYPE_WEIGHTS.values()), k=n)
    stamps = sorted(start_ms - 1 - rng.randrange(DAY_MS) for _ in range(n))
    seen: set[str] = set()
    events = []
    for kind, ts in zip(kinds, stamps, strict=True):
        # A few clicks and impressions come from desktop browsers (web-to-app flows).
        pool = web if kind in ("click", "impression") and rng.random() < 0.05 else mobile
        event = _one_event(rng, app_id, kind, ts, rng.choice(pool), ads)
        event_id = _hex(rng, 128)
        while event_id in seen:
            event_id = _hex(rng, 128)
        seen.add(event_id)
        event["event_id"] = event_id
        events.append(event)
    return events


def encode_batches(events: list[dict[str, Any]], size: int = 500) -> list[bytes]:
    """JSON bodies for `POST /v1/events/batch`, `size` events each (the last may be short)."""
    return [
        msgspec.json.encode({"events": events[i : i + size]}) for i in range(0, len(events), size)
    ]


def encode_singles(events: list[dict[str, Any]]) -> list[bytes]:
    """JSON bodies for `POST /v1/events`, one event each."""
    encoder = msgspec.json.Encoder()
    return [encoder.encode(e) for e in events]
