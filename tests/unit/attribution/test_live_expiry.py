"""The live index forgets touches beyond the horizon, a little at a time."""

from __future__ import annotations

from attribo.attribution.live import LiveAttributor
from attribo.attribution.rules import LATENESS_MS
from attribo.attribution.settings import DAY_MS, HOUR_MS, AttributionSettings
from attribo.events.record import StoredEvent

T0 = 1_750_000_000_000


def click(n: int, at: int) -> StoredEvent:
    return StoredEvent(
        app_id="a",
        event_id=f"c{n}",
        type="click",
        event_time=at,
        received_at=at,
        platform="android",
        gaid=f"g{n % 5000}",
        click_id=f"k{n}",
        network="meta",
        seq=n + 1,
    )


def indexed(attributor: LiveAttributor) -> int:
    index = attributor._apps["a"]
    return sum(
        len(touches)
        for table in (index.by_click_id, index.by_ad_id, index.by_fingerprint)
        for touches in table.values()
    )


def test_memory_follows_the_horizon_not_the_history() -> None:
    attributor = LiveAttributor()
    horizon = AttributionSettings().max_lookback_ms + LATENESS_MS
    per_hour = 50
    for hour in range(60 * 24):  # 60 days of clicks, in time order
        attributor.observe(
            [click(hour * per_hour + i, T0 + hour * HOUR_MS + i) for i in range(per_hour)]
        )
    # Each click sits in two tables (click id and gaid); at most horizon + one hour of them.
    bound = 2 * per_hour * (horizon // HOUR_MS + 2)
    assert indexed(attributor) <= bound
    assert indexed(attributor) >= 2 * per_hour * (horizon // HOUR_MS - 2)  # and no more is lost


def test_an_install_inside_the_horizon_still_finds_its_click() -> None:
    attributor = LiveAttributor()
    attributor.observe([click(i, T0 + i * HOUR_MS) for i in range(40 * 24)])
    last = 40 * 24 - 1
    install = StoredEvent(
        app_id="a",
        event_id="i1",
        type="install",
        event_time=T0 + last * HOUR_MS + DAY_MS,
        received_at=0,
        platform="android",
        click_id=f"k{last}",
        seq=10**9,
    )
    [decision] = attributor.observe([install])
    assert decision is not None and decision.status == "attributed"
    assert decision.touch is not None and decision.touch.event_id == f"c{last}"
