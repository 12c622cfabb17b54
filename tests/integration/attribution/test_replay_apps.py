"""Replay edge cases: apps kept apart (with or without an app filter, whatever the app id's
text), and ties on match type and time broken by the smallest event id."""

from __future__ import annotations

from pathlib import Path

from attribo.attribution.replay import replay_attribution
from attribo.attribution.settings import AttributionSettings
from attribo.events.record import StoredEvent
from attribo.store.duckdb import DuckDBStore
from attribo.store.schema import records_to_table

T0 = 1_750_000_000_000


def _event(app_id: str, event_id: str, kind: str, seq: int, click_id: str | None) -> StoredEvent:
    return StoredEvent(
        app_id=app_id,
        event_id=event_id,
        type=kind,
        event_time=T0 + seq,
        received_at=T0,
        platform="android",
        gaid="gaid-1",
        ip="1.1.1.1",
        os_version="14",
        click_id=click_id,
        network="meta" if kind == "click" else None,
        seq=seq,
    )


def test_touches_of_another_app_never_match(tmp_path: Path) -> None:
    quoted = "o'hare app"  # a quote in the id: the script must not break or widen the filter
    records = [
        _event("other", "c1", "click", 1, "ck1"),  # same device, same click id, other app
        _event(quoted, "i1", "install", 2, "ck1"),
        _event(quoted, "c2", "click", 3, None),
        _event("other", "i2", "install", 4, "ck1"),
    ]
    store = DuckDBStore(tmp_path / "events.duckdb")
    try:
        store.write_events(records_to_table(records), "test", 1)
        every = replay_attribution(store, AttributionSettings()).to_pylist()
        one = replay_attribution(store, AttributionSettings(), quoted).to_pylist()
    finally:
        store.close()
    decided = {
        (r["app_id"], r["install_event_id"]): (r["status"], r["touch_event_id"]) for r in every
    }
    assert decided == {(quoted, "i1"): ("organic", None), ("other", "i2"): ("attributed", "c1")}
    assert [(r["install_event_id"], r["status"]) for r in one] == [("i1", "organic")]


def test_a_tie_goes_to_the_smallest_event_id(tmp_path: Path) -> None:
    app = "ties"
    records = [
        _event(app, "c-b", "click", 1, None),
        _event(app, "c-a", "click", 2, None),
        _event(app, "c-c", "click", 3, None),
        _event(app, "i1", "install", 9, None),
    ]
    for record in records[:3]:
        record.event_time = T0  # the same device and time: only the event id decides
    store = DuckDBStore(tmp_path / "events.duckdb")
    try:
        store.write_events(records_to_table(records), "test", 1)
        rows = replay_attribution(store, AttributionSettings(), app).to_pylist()
    finally:
        store.close()
    assert [(r["match"], r["touch_event_id"], r["ctit_ms"]) for r in rows] == [("device", "c-a", 9)]
