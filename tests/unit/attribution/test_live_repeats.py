"""An install seen twice (a retried request whose first append landed) is one install."""

from __future__ import annotations

import msgspec

from attribo.attribution.live import LiveAttributor
from attribo.events.record import StoredEvent

T0 = 1_700_000_000_000


def _event(event_id: str, kind: str, t: int, seq: int, **fields: object) -> StoredEvent:
    return StoredEvent(
        app_id="a",
        event_id=event_id,
        type=kind,
        event_time=T0 + t,
        received_at=T0 + t,
        seq=seq,
        platform="android",
        gaid="dev-1",
        **fields,  # type: ignore[arg-type]
    )


def test_a_repeated_install_gets_the_first_decision_not_a_reinstall_of_itself() -> None:
    attributor = LiveAttributor()
    click = _event("c1", "click", 0, 1, network="meta", campaign="spring")
    install = _event("i1", "install", 60_000, 2)
    later_click = _event("c2", "click", 70_000, 3, network="tiktok")
    again = msgspec.structs.replace(install, seq=4)
    purchase = _event("p1", "purchase", 80_000, 5, revenue=2.0, currency="EUR")
    decisions = attributor.observe([click, install, later_click, again, purchase])
    first, repeat = decisions[1], decisions[3]
    assert first is not None and first.touch is not None and first.touch.event_id == "c1"
    assert repeat == first
    for field in ("attribution", "attributed_network", "touch_event_id", "reinstall", "ctit_ms",
                  "watermark", "match_type"):  # fmt: skip
        assert getattr(again, field) == getattr(install, field), field
    assert again.reinstall is False and again.attributed_network == "meta"
    assert purchase.attributed_network == "meta" and purchase.install_event_id == "i1"


def test_a_new_install_of_the_device_is_still_a_reinstall() -> None:
    attributor = LiveAttributor()
    first = _event("i1", "install", 0, 1)
    second = _event("i2", "install", 60_000, 2)
    attributor.observe([first, second])
    assert first.reinstall is False and second.reinstall is True
