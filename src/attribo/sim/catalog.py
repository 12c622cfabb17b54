"""Field data the simulator draws from: countries, devices, OS versions, ad networks and ads.

Shares are rounded from public 2024 market reports (StatCounter, AppsFlyer/Adjust benchmarks);
they only need to look like the field, not match any one month of it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CountrySpec:
    """A country: traffic share, platform mix, cost level, locales and carrier IP prefixes."""

    code: str
    share: float  # share of installs
    ios_share: float  # share of those on iOS
    cost_index: float  # CPI/CPM multiplier relative to the US
    locales: tuple[str, ...]
    prefixes: tuple[str, ...]  # public IPv4 prefixes of carriers/ISPs that geolocate here


COUNTRIES: tuple[CountrySpec, ...] = (
    CountrySpec("US", 0.30, 0.56, 1.00, ("en_US", "es_US"), ("73.0.0.0/8", "172.56.0.0/14")),
    CountrySpec("IN", 0.15, 0.05, 0.12, ("en_IN", "hi_IN"), ("117.192.0.0/10", "49.32.0.0/12")),
    CountrySpec("BR", 0.10, 0.14, 0.30, ("pt_BR",), ("179.96.0.0/13", "177.32.0.0/12")),
    CountrySpec("GB", 0.08, 0.50, 0.80, ("en_GB",), ("86.128.0.0/10", "81.96.0.0/12")),
    CountrySpec("DE", 0.08, 0.38, 0.85, ("de_DE", "en_DE"), ("87.128.0.0/10", "91.0.0.0/10")),
    CountrySpec("JP", 0.08, 0.66, 1.10, ("ja_JP",), ("60.32.0.0/12", "153.136.0.0/13")),
    CountrySpec("FR", 0.06, 0.35, 0.70, ("fr_FR",), ("86.192.0.0/11",)),
    CountrySpec("ID", 0.08, 0.09, 0.15, ("id_ID", "en_ID"), ("114.120.0.0/13", "36.64.0.0/11")),
    CountrySpec("MX", 0.07, 0.22, 0.30, ("es_MX",), ("189.128.0.0/10",)),
)

# Data-centre prefixes (AWS, Google Cloud): where bots run from.
DATACENTRE_PREFIXES = ("3.0.0.0/9", "34.64.0.0/10", "52.0.0.0/11")


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """An ad network: its share of paid installs, funnel rates, prices and ad tree size."""

    name: str
    share: float  # share of genuine paid installs (0 for the fraudulent network)
    ctr: float  # clicks per impression
    cvr: float  # installs per click
    cpi_usd: float  # cost per install in the US (scaled by the country's cost_index)
    view_share: float  # how likely a paid install of this network is view-through
    click_ids: bool  # clicks carry a click id that the Play install referrer passes on
    campaigns: int = 3  # user-acquisition campaigns
    adsets: int = 2  # ad sets per campaign
    ads: int = 2  # ads per ad set
    retargeting: bool = False  # runs a retargeting campaign (re-engagement)
    fraud: bool = False  # a fraudulent source (injection, flooding, farms, bots, spoofing)


NETWORKS: tuple[NetworkSpec, ...] = (
    NetworkSpec("google_ads", 0.28, 0.030, 0.040, 2.8, 0.02, True, retargeting=True),
    NetworkSpec("meta", 0.25, 0.012, 0.050, 3.2, 0.12, False, retargeting=True),
    NetworkSpec("tiktok", 0.14, 0.010, 0.030, 2.2, 0.10, False),
    NetworkSpec("applovin", 0.12, 0.040, 0.025, 2.5, 0.12, True),
    NetworkSpec("unity_ads", 0.11, 0.050, 0.020, 1.8, 0.15, True),
    NetworkSpec("ironsource", 0.10, 0.045, 0.020, 1.9, 0.10, True),
    NetworkSpec("clickhub_media", 0.0, 0.080, 0.002, 1.2, 0.0, True, 2, 1, 1, fraud=True),
)

_CAMPAIGN_THEMES = ("ua_broad", "ua_lookalike", "ua_video", "ua_playable", "ua_tier1", "ua_geo")


@dataclass(frozen=True, slots=True)
class Ad:
    """One ad: what a click or impression's `source` names."""

    network: str
    campaign: str
    campaign_id: str
    adset: str
    ad: str
    retargeting: bool


def ad_tree(networks: tuple[NetworkSpec, ...]) -> tuple[Ad, ...]:
    """Every ad of every network, in a fixed order (the index is the ad's id in the model)."""
    ads: list[Ad] = []
    for n_index, net in enumerate(networks):
        themes = [_CAMPAIGN_THEMES[c % len(_CAMPAIGN_THEMES)] for c in range(net.campaigns)]
        if net.retargeting:
            themes.append("rt_winback")
        for c_index, theme in enumerate(themes):
            campaign = f"{net.name}_{theme}_{c_index + 1}"
            campaign_id = f"{1000 * (n_index + 1) + c_index + 1}"
            for s in range(net.adsets):
                adset = f"{campaign}_as{s + 1}"
                for a in range(net.ads):
                    ads.append(
                        Ad(
                            net.name,
                            campaign,
                            campaign_id,
                            adset,
                            f"{adset}_ad{a + 1}",
                            theme[:2] == "rt",
                        )
                    )
    return tuple(ads)


# (machine id, share of iPhones) — recent iPhones in use.
IPHONES: tuple[tuple[str, float], ...] = (
    ("iPhone12,1", 0.06),  # 11
    ("iPhone13,2", 0.09),  # 12
    ("iPhone14,5", 0.14),  # 13
    ("iPhone14,7", 0.10),  # 14
    ("iPhone15,2", 0.09),  # 14 Pro
    ("iPhone15,3", 0.08),  # 14 Pro Max
    ("iPhone15,4", 0.10),  # 15
    ("iPhone16,1", 0.09),  # 15 Pro
    ("iPhone16,2", 0.10),  # 15 Pro Max
    ("iPhone17,3", 0.08),  # 16
    ("iPhone14,6", 0.03),  # SE 3
    ("iPhone17,1", 0.03),  # 16 Pro
)
# (iOS version, share of iPhones).
IOS_VERSIONS: tuple[tuple[str, float], ...] = (
    ("18.3.2", 0.22),
    ("18.2.1", 0.14),
    ("18.1.1", 0.10),
    ("17.6.1", 0.20),
    ("17.5.1", 0.09),
    ("17.4.1", 0.07),
    ("16.7.10", 0.10),
    ("15.8.3", 0.08),
)
# (model, build id prefix, share of Android devices).
ANDROIDS: tuple[tuple[str, str, float], ...] = (
    ("SM-A155F", "UP1A", 0.10),
    ("SM-A546B", "UP1A", 0.08),
    ("SM-S918B", "UP1A", 0.06),
    ("SM-G991B", "TP1A", 0.05),
    ("SM-A135F", "TP1A", 0.07),
    ("Pixel 8", "AP2A", 0.04),
    ("Pixel 7a", "AP2A", 0.03),
    ("23129RAA4G", "UKQ1", 0.08),  # Redmi Note 13
    ("2201117TG", "TKQ1", 0.07),  # Redmi Note 11
    ("CPH2581", "UKQ1", 0.05),  # OPPO
    ("V2247", "UP1A", 0.06),  # vivo
    ("moto g54 5G", "U1TD", 0.04),
    ("RMX3760", "TP1A", 0.06),  # realme
    ("SM-A105F", "QP1A", 0.05),
    ("TECNO KI5k", "TP1A", 0.06),
)
# (Android version, share).
ANDROID_VERSIONS: tuple[tuple[str, float], ...] = (
    ("14", 0.35),
    ("13", 0.22),
    ("12", 0.14),
    ("15", 0.12),
    ("11", 0.10),
    ("10", 0.07),
)
CHROME_VERSIONS: tuple[str, ...] = (
    "124.0.6367.179",
    "126.0.6478.122",
    "129.0.6668.100",
    "131.0.6778.135",
)
BUILD_DATES: tuple[str, ...] = ("230805", "231005", "240205", "240605", "241105")

# Device-farm hardware: cheap phones bought by the hundred.
FARM_MODEL = ("SM-A105F", "QP1A", "10")
# What bots announce themselves as.
BOT_AGENTS: tuple[str, ...] = (
    "python-requests/2.31.0",
    "curl/8.5.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/124.0.6367.60 Safari/537.36",
    "okhttp/4.12.0",
    "Go-http-client/1.1",
)
# Device parameters that no real device reports.
IMPOSSIBLE_IOS = (("iPhone99,9", "99.0"), ("SM-G991B", "17.4.1"), ("iPhone15,2", "3.1"))
IMPOSSIBLE_ANDROID = (("iPhone15,2", "14"), ("Pixel 99 Ultra", "27"), ("SM-S918B", "2.2"))


def ios_user_agent(version: str) -> str:
    """An in-app WebView user agent of an iPhone on iOS `version`."""
    return (
        f"Mozilla/5.0 (iPhone; CPU iPhone OS {version.replace('.', '_')} like Mac OS X) "
        "AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
    )


def android_user_agent(version: str, model: str, build: str, chrome: str) -> str:
    """An Android System WebView user agent for `model` on Android `version`."""
    return (
        f"Mozilla/5.0 (Linux; Android {version}; {model} Build/{build}; wv) "
        f"AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/{chrome} Mobile Safari/537.36"
    )


def browser_user_agent(version: str, model: str, chrome: str) -> str:
    """Chrome for Android's user agent (what a tracking-link click sees)."""
    return (
        f"Mozilla/5.0 (Linux; Android {version}; {model}) AppleWebKit/537.36 "
        f"(KHTML, like Gecko) Chrome/{chrome} Mobile Safari/537.36"
    )
