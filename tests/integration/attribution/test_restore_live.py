"""Rebuilding the live index from a real DuckDB store: the same state, nothing judged again."""

from __future__ import annotations

from pathlib import Path

import msgspec

from attribo.attribution.live import LiveAttributor
from attribo.attribution.restore import restore_live
from attribo.events.record import StoredEvent
from attribo.store.duckdb import DuckDBStore
from attribo.store.schema import records_to_table

APP = "restored.app"
T0 = 1_700_000_000_000


def _record(event_id: str, kind: str, t: int, **fields: object) -> StoredEvent:
    return StoredEvent(
        app_id=APP,
        event_id=event_id,
        type=kind,
        event_time=T0 + t,
        received_at=T0 + t,
        platform="android",
        **fields,  # type: ignore[arg-type]
    )


def test_restore_rebuilds_the_index_without_judging_again(tmp_path: Path) -> None:
    """A stored install keeps its verdict (blocked is re-read, not re-judged), the judge is
    back in place afterwards, and the next install finds the restored touches."""
    first = LiveAttributor()
    first.judge = lambda record: record.event_id == "bad-install"
    records = [
        _record("c1", "click", 0, gaid="g1", network="net"),
        _record("ok-install", "install", 60_000, gaid="g1"),
        _record("c2", "click", 1_000, gaid="g2", network="net"),
        _record("bad-install", "install", 61_000, gaid="g2"),
        _record("c3", "click", 2_000, gaid="g3", network="other"),
    ]
    for seq, record in enumerate(records, 1):
        record.seq = seq
    first.observe(records)
    assert [r.attribution for r in records if r.type == "install"] == ["attributed", "blocked"]
    store = DuckDBStore(tmp_path / "events.duckdb")
    try:
        store.write_events(records_to_table(records), "test", 1)
        again = LiveAttributor()
        judged: list[str] = []

        def judge(record: StoredEvent) -> bool:
            judged.append(record.event_id)
            return False

        again.judge = judge
        assert restore_live(again, store, None, 0, [APP]) == len(records)
        assert judged == [] and again.judge is judge
        late = _record("g3-install", "install", 120_000, gaid="g3")
        late.seq = 10
        again.observe([late])
        assert (late.attribution, late.touch_event_id, judged) == (
            "attributed",
            "c3",
            ["g3-install"],
        )
    finally:
        store.close()


def test_a_reengagement_under_way_survives_the_restore(tmp_path: Path) -> None:
    """Rule 7 holds for 30 days: in-app events after a restart still go to the retargeting
    campaign that brought the user back, as they would have without the restart."""
    records = [
        _record("i9", "install", 0, gaid="g9"),
        _record("rt-click", "click", 3_600_000, gaid="g9", network="winback", retargeting=True),
        _record("o9", "open", 3_660_000, gaid="g9"),
        _record("o10", "open", 3_700_000, gaid="g9"),
        _record("other", "click", 3_800_000, gaid="g1", network="net"),
    ]
    for seq, record in enumerate(records, 1):
        record.seq = seq
    first = LiveAttributor()
    first.observe(records)
    assert records[2].attribution == "reengagement"
    store = DuckDBStore(tmp_path / "events.duckdb")
    try:
        store.write_events(records_to_table(records), "test", 1)
        again = LiveAttributor()
        restore_live(again, store, None, 0, [APP])
        later = [
            _record("buy", "event", 86_400_000, gaid="g9", name="purchase", revenue=3.0),
            _record("o11", "open", 90_000_000, gaid="g9"),
        ]
        for seq, record in enumerate(later, 10):
            record.seq = seq
        twin = [msgspec.structs.replace(r) for r in later]
        first.observe(twin)
        again.observe(later)
        assert [(r.attribution, r.attributed_network) for r in later] == [
            ("reengagement", "winback"),
            ("reengagement", "winback"),
        ]
        assert [msgspec.structs.asdict(r) for r in later] == [
            msgspec.structs.asdict(r) for r in twin
        ]
    finally:
        store.close()
