"""Each fraud rule on both sides of its threshold."""

from __future__ import annotations

import json

import pytest

from attribo.events.record import StoredEvent
from attribo.fraud.context import FraudContext
from attribo.fraud.datacentre import DataCentreRanges, shipped_ranges
from attribo.fraud.rules import (
    AnonymousIpRule,
    BotRule,
    ClickBurstRule,
    ClickFloodingRule,
    ClickInjectionRule,
    ImpossibleDeviceRule,
    InstallFarmRule,
    SignatureRule,
    TimestampRule,
)
from attribo.fraud.settings import (
    BotSettings,
    ClickFloodingSettings,
    ClickInjectionSettings,
    InstallFarmSettings,
    SignatureSettings,
    TimestampSettings,
)

T0 = 1_767_225_600_000  # 2026-01-01
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.179 Mobile Safari/537.36"
)
_ids = iter(range(10**9))


def install(
    ctit_s: float | None = 120.0,
    *,
    network: str = "meta",
    site: str | None = None,
    ip: str = "81.2.69.160",
    gaid: str | None = None,
    model: str | None = "SM-S918B",
    os_version: str | None = "14",
    platform: str = "android",
    ua: str | None = PHONE_UA,
    event_time: int = T0,
    properties: str | None = None,
) -> StoredEvent:
    """An install record as the live attributor stamps it."""
    n = next(_ids)
    attributed = ctit_s is not None
    return StoredEvent(
        app_id="app",
        event_id=f"i{n}",
        type="install",
        event_time=event_time,
        received_at=event_time,
        platform=platform,
        gaid=gaid or f"00000000-0000-4000-8000-{n:012d}",
        ip=ip,
        user_agent=ua,
        device_model=model,
        os_version=os_version,
        properties=properties,
        attribution="attributed" if attributed else "organic",
        attributed_network=network if attributed else None,
        attributed_site_id=site if attributed else None,
        touch_type="click" if attributed else None,
        touch_event_id=f"c{n}" if attributed else None,
        ctit_ms=int(ctit_s * 1000) if ctit_s is not None else None,
        install_event_id=f"i{n}",
    )


def click(network: str, gaid: str, at: int, site: str | None = None) -> StoredEvent:
    """A click record from a network for a device."""
    return StoredEvent(
        app_id="app",
        event_id=f"c{next(_ids)}",
        type="click",
        event_time=at,
        received_at=at,
        platform="android",
        gaid=gaid,
        network=network,
        site_id=site,
    )


def fed(*records: StoredEvent) -> FraudContext:
    """A context that has seen the records."""
    context = FraudContext()
    for record in records:
        context.add(record)
    return context


@pytest.mark.parametrize(("ctit_s", "hit"), [(9.9, True), (10.0, False), (3.0, True), (60, False)])
def test_click_injection_ctit(ctit_s: float, hit: bool) -> None:
    rule = ClickInjectionRule(ClickInjectionSettings(min_ctit_s=10))
    result = rule.check(install(ctit_s), FraudContext())
    assert (result is not None) is hit
    if result is not None:
        assert result.severity == "rejected" and "under 10 s" in result.reason


@pytest.mark.parametrize(("begin_offset_s", "hit"), [(-5, True), (5, False)])
def test_click_injection_after_download_began(begin_offset_s: int, hit: bool) -> None:
    # The click was 300 s before the install; the download began 295 s or 305 s before it.
    click_ms = T0 - 300_000
    props = json.dumps({"install_begin_ms": click_ms + begin_offset_s * 1000})
    rule = ClickInjectionRule(ClickInjectionSettings())
    result = rule.check(install(300, properties=props), FraudContext())
    assert (result is not None) is hit
    if result is not None:
        assert "after the download began" in result.reason


def test_click_injection_ignores_organic() -> None:
    assert ClickInjectionRule(ClickInjectionSettings()).check(install(None), FraudContext()) is None


def _source_with(ctits: list[float], network: str) -> tuple[FraudContext, StoredEvent]:
    records = [install(c, network=network) for c in ctits]
    return fed(*records), records[0]


def test_click_flooding_flat_ctit_versus_priors() -> None:
    rule = ClickFloodingRule(ClickFloodingSettings(min_source_installs=50))
    # 60 installs spread evenly over 7 days: few within 1 h, most after 24 h.
    flat = [60 + i * (7 * 86400 / 60) for i in range(60)]
    context, one = _source_with(flat, "flooder")
    hit = rule.check(one, context)
    assert hit is not None and hit.severity == "rejected" and "flooder" in hit.reason
    # 60 installs shaped like the priors: 75 % within 1 h, 94 % within 24 h.
    genuine = [300.0] * 45 + [20_000.0] * 11 + [200_000.0] * 4
    context, one = _source_with(genuine, "honest")
    assert rule.check(one, context) is None


def test_click_flooding_tail_survives_short_fraud_mixed_in() -> None:
    rule = ClickFloodingRule(ClickFloodingSettings(min_source_installs=50, min_late_installs=20))
    # Half the source's installs are injected (5 s), which keeps 55 % within 1 h; but of
    # those after 1 h, 80 % come after 24 h (genuine: ~24 %).
    late = [7200.0] * 5 + [300_000.0] * 20
    mixed = [5.0] * 30 + late
    context, one = _source_with(mixed, "mixer")
    hit = rule.check(one, context)
    assert hit is not None and "after 24 h" in hit.reason
    genuine_tail = [5.0] * 30 + [7200.0] * 19 + [300_000.0] * 6  # 24 % of the tail
    context, one = _source_with(genuine_tail, "fine")
    assert rule.check(one, context) is None


def test_click_flooding_needs_enough_installs() -> None:
    rule = ClickFloodingRule(ClickFloodingSettings(min_source_installs=50))
    flat = [60 + i * 10_000 for i in range(49)]
    context, one = _source_with(flat, "small")
    assert rule.check(one, context) is None
    context.add(install(500_000, network="small"))
    assert rule.check(one, context) is not None


@pytest.mark.parametrize(("clicks", "hit"), [(20 * 50, False), (20 * 50 + 1, True)])
def test_click_flooding_clicks_per_install(clicks: int, hit: bool) -> None:
    rule = ClickFloodingRule(
        ClickFloodingSettings(min_source_installs=50, max_clicks_per_install=20)
    )
    records = [install(300, network="busy") for _ in range(50)]
    records += [click("busy", f"dev-{i}", T0 - 10**8) for i in range(clicks)]
    result = rule.check(records[0], fed(*records))
    assert (result is not None) is hit
    if result is not None:
        assert result.severity == "suspicious" and "clicks per install" in result.reason


@pytest.mark.parametrize(("clicks", "hit"), [(5, False), (6, True)])
def test_click_burst_per_device(clicks: int, hit: bool) -> None:
    rule = ClickBurstRule(ClickFloodingSettings(max_burst_clicks=5, burst_window_s=3600))
    gaid = "11111111-2222-4333-8444-555555555555"
    records = [click("burst", gaid, T0 - 600_000 + i * 60_000) for i in range(clicks)]
    result = rule.check(install(30, network="burst", gaid=gaid), fed(*records))
    assert (result is not None) is hit


def test_click_burst_window_expires() -> None:
    rule = ClickBurstRule(ClickFloodingSettings(max_burst_clicks=5, burst_window_s=3600))
    gaid = "11111111-2222-4333-8444-555555555556"
    spread = [click("slow", gaid, T0 - i * 3_700_000) for i in range(10, 0, -1)]
    assert rule.check(install(30, network="slow", gaid=gaid), fed(*spread)) is None


def test_install_farm_subnet_with_idle_installs() -> None:
    rule = InstallFarmRule(InstallFarmSettings(max_installs_per_subnet=25, max_installs_per_ip=100))
    farm = [install(200, ip=f"114.120.7.{i}") for i in range(2, 28)]  # 26 installs
    hit = rule.check(farm[0], fed(*farm))
    assert hit is not None and hit.severity == "rejected" and "114.120.7.0/24" in hit.reason
    assert rule.check(farm[0], fed(*farm[:25])) is None  # 25: at the limit


def test_install_farm_engaged_subnet_is_not_a_farm() -> None:
    rule = InstallFarmRule(InstallFarmSettings(max_installs_per_subnet=25, max_installs_per_ip=100))
    office = [install(200, ip=f"10.1.2.{i}") for i in range(2, 32)]
    opens = [
        StoredEvent(
            app_id="app",
            event_id=f"o{r.event_id}",
            type="open",
            event_time=T0 + 1,
            received_at=T0 + 1,
            install_event_id=r.event_id,
        )
        for r in office[:10]  # a third used the app: idle share 67 % < 80 %
    ]
    assert rule.check(office[-1], fed(*office, *opens)) is None
    assert rule.check(office[-1], fed(*office, *opens[:5])) is not None  # 83 % idle
    # A user who did open the app is not rejected, even inside a farm's /24.
    assert rule.check(office[0], fed(*office, *opens[:5])) is None


@pytest.mark.parametrize(("count", "hit"), [(12, False), (13, True)])
def test_install_farm_installs_per_ip(count: int, hit: bool) -> None:
    rule = InstallFarmRule(InstallFarmSettings(max_installs_per_ip=12))
    same_ip = [install(200, ip="5.6.7.8") for _ in range(count)]
    result = rule.check(same_ip[0], fed(*same_ip))
    assert (result is not None) is hit


@pytest.mark.parametrize(("farm_share", "hit"), [(0.25, False), (0.26, True)])
def test_install_farm_model_share(farm_share: float, hit: bool) -> None:
    rule = InstallFarmRule(
        InstallFarmSettings(max_model_share=0.25, min_installs_for_model_share=200)
    )
    n_farm = round(200 * farm_share)
    records = [install(200, model="SM-A105F", ip=f"9.{i}.1.1") for i in range(n_farm)]
    records += [install(200, model="Pixel 8", ip=f"8.{i}.1.1") for i in range(200 - n_farm)]
    result = rule.check(records[0], fed(*records))
    assert (result is not None) is hit


@pytest.mark.parametrize(
    ("ua", "hit"),
    [
        (PHONE_UA, False),
        ("python-requests/2.31.0", True),
        ("curl/8.5.0", True),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "HeadlessChrome/124.0.6367.60 Safari/537.36",
            True,
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Mobile/15E148",
            False,
        ),
    ],
)
def test_bot_user_agent(ua: str, hit: bool) -> None:
    result = BotRule(BotSettings()).check(install(ua=ua), FraudContext())
    assert (result is not None) is hit


@pytest.mark.parametrize(
    ("platform", "model", "version", "hit"),
    [
        ("ios", "iPhone15,2", "17.4.1", False),
        ("ios", "iPhone99,9", "17.4.1", True),
        ("ios", "SM-G991B", "17.4.1", True),
        ("ios", "iPhone15,2", "3.1", True),
        ("ios", "iPhone15,2", "26.0", False),
        ("ios", "iPhone15,2", "27.0", True),
        ("android", "SM-S918B", "14", False),
        ("android", "iPhone15,2", "14", True),
        ("android", "Pixel 99 Ultra", "27", True),
        ("android", "SM-S918B", "2.2", True),
        ("android", "SM-S918B", "4.4", False),
    ],
)
def test_impossible_device(platform: str, model: str, version: str, hit: bool) -> None:
    record = install(platform=platform, model=model, os_version=version)
    assert (ImpossibleDeviceRule().check(record, FraudContext()) is not None) is hit


def _revenue(signed: bool) -> StoredEvent:
    return StoredEvent(
        app_id="app",
        event_id="p1",
        type="event",
        event_time=T0,
        received_at=T0,
        name="purchase",
        revenue=4.99,
        signed=signed,
    )


def test_signature_required_for_revenue() -> None:
    strict = SignatureRule(SignatureSettings(require_signed_revenue=True))
    assert strict.check(_revenue(signed=False), FraudContext()) is not None
    assert strict.check(_revenue(signed=True), FraudContext()) is None
    lax = SignatureRule(SignatureSettings(require_signed_revenue=False))
    assert lax.check(_revenue(signed=False), FraudContext()) is None


@pytest.mark.parametrize(("ahead_s", "hit"), [(300, False), (301, True)])
def test_timestamps_from_the_future(ahead_s: int, hit: bool) -> None:
    record = install(event_time=T0 + ahead_s * 1000)
    record.received_at = T0
    result = TimestampRule(TimestampSettings(max_future_s=300)).check(record, FraudContext())
    assert (result is not None) is hit


def test_timestamps_install_before_touch() -> None:
    rule = TimestampRule(TimestampSettings())
    assert rule.check(install(-1), FraudContext()) is not None
    assert rule.check(install(0), FraudContext()) is None


def test_anonymous_ip_from_a_given_list() -> None:
    rule = AnonymousIpRule(DataCentreRanges.from_cidrs(["203.0.113.0/24", "198.51.100.0/25"]))
    assert rule.check(install(ip="203.0.113.77"), FraudContext()) is not None
    assert rule.check(install(ip="198.51.100.127"), FraudContext()) is not None
    assert rule.check(install(ip="198.51.100.128"), FraudContext()) is None
    assert rule.check(install(ip="2001:db8::1"), FraudContext()) is None


def test_shipped_data_centre_list_knows_cloud_and_not_carriers() -> None:
    ranges = shipped_ranges()
    assert len(ranges) > 1000
    assert ranges.contains("34.100.2.3")  # Google Cloud
    assert ranges.contains("52.10.3.4")  # AWS
    assert not ranges.contains("81.2.69.160")  # a UK broadband address
    assert not ranges.contains("not an ip")
