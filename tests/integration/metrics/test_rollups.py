"""Rollups kept as events arrive answer exactly what a query over the raw events answers.

The simulated events are written into a fresh store in random batches (as the pipeline
writes them), the rollups refreshed between batches, and after each refresh reports read
through the rollups are compared with the same reports over raw events.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from metrics_data import APP, DAYS, START, ReportData

from attribo.metrics import METRICS, AggregateRequest, run_aggregate
from attribo.store.duckdb import DuckDBStore
from attribo.store.schema import EVENTS_ARROW_SCHEMA

DATE_TO = date.fromordinal(START.toordinal() + DAYS - 1)
AS_OF = datetime(2026, 10, 24, 12, tzinfo=UTC)
METRIC_LIST = (*METRICS, "retention_d0", "revenue_d2", "sessions_d5", "paying_users_d9")
DIMS = [
    (),
    ("network", "campaign"),
    ("install_date", "country"),
    ("event_date:week",),
    ("site",),
    ("site", "country", "ad"),  # only the full cube holds all three
]


@pytest.fixture(scope="module")
def costed_store(report_data: ReportData):
    store = DuckDBStore(report_data.costed, threads=2)
    yield store
    store.close()


def _arrow(report_data: ReportData) -> pa.Table:
    frame = report_data.events.sort_values("seq", kind="stable")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return pa.Table.from_arrays(
        [table.column(f.name).cast(f.type) for f in EVENTS_ARROW_SCHEMA],
        schema=EVENTS_ARROW_SCHEMA,
    )


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert len(a["rows"]) == len(b["rows"])
    for x, y in zip([*a["rows"], a["totals"]], [*b["rows"], b["totals"]], strict=True):
        assert x.keys() == y.keys()
        for key, value in x.items():
            other = y[key]
            if isinstance(value, float) and isinstance(other, float):
                assert math.isclose(value, other, rel_tol=1e-9, abs_tol=1e-9), (key, x, y)
            else:
                assert value == other, (key, x, y)


def _compare(store: DuckDBStore) -> int:
    """Every report through rollups equals raw; returns the installs seen."""
    installs = 0
    for dims in DIMS:
        request = AggregateRequest(
            app_id=APP,
            metrics=METRIC_LIST,
            dimensions=dims,
            date_from=START,
            date_to=DATE_TO,
            limit=10_000,
            as_of=AS_OF,
        )
        rolled = run_aggregate(store, request)  # refreshes the rollups first
        _same(rolled, run_aggregate(store, request, rollups=False))
        installs = rolled["totals"]["installs"] + rolled["totals"]["blocked_installs"]
    return installs


def test_rollups_follow_events_written_in_random_batches(
    report_data: ReportData, tmp_path: Path
) -> None:
    events = _arrow(report_data)
    store = DuckDBStore(tmp_path / "events.duckdb", threads=2)
    try:
        rng = random.Random(11)
        cuts = sorted(rng.sample(range(1, events.num_rows), 5))
        seen = []
        for k, (start, end) in enumerate(zip([0, *cuts], [*cuts, events.num_rows], strict=True)):
            store.write_events(events.slice(start, end - start), "test", k)
            seen.append(_compare(store))
        assert seen == sorted(seen) and seen[0] < seen[-1], "installs grow batch by batch"
        assert seen[-1] == int((report_data.events["type"] == "install").sum())
    finally:
        store.close()


def test_an_event_stored_below_the_watermark_rebuilds_the_rollups(
    report_data: ReportData, tmp_path: Path
) -> None:
    events = _arrow(report_data)
    half = events.num_rows // 2
    store = DuckDBStore(tmp_path / "events.duckdb", threads=2)
    try:
        late = events.slice(0, 500)  # the first events, held back
        store.write_events(events.slice(500, half - 500), "test", 0)
        _compare(store)
        store.write_events(late, "test", 1)  # seq below the watermark
        store.write_events(events.slice(half, events.num_rows - half), "test", 2)
        assert _compare(store) == int((report_data.events["type"] == "install").sum())
    finally:
        store.close()


def test_reset_after_rewriting_events(report_data: ReportData, tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "events.duckdb", threads=2)
    try:
        store.write_events(_arrow(report_data), "test", 0)
        _compare(store)
        store.side_cursor().execute(
            "UPDATE events SET attribution = 'blocked' WHERE type = 'install'"
            " AND attribution = 'attributed' AND hash(event_id) % 2 = 0"
        )
        store.reset_rollups()
        _compare(store)
        request = AggregateRequest(
            app_id=APP, metrics=("blocked_installs",), date_from=START, date_to=DATE_TO
        )
        blocked = run_aggregate(store, request)["totals"]["blocked_installs"]
        assert blocked > int((report_data.events["attribution"] == "blocked").sum())
    finally:
        store.close()


@pytest.mark.parametrize("day", [0, 1, 30])
def test_young_installs_leave_day_n_retention(costed_store: DuckDBStore, day: int) -> None:
    def retention(as_of: datetime) -> dict[str, Any]:
        request = AggregateRequest(
            app_id=APP,
            metrics=(f"retention_d{day}",),
            date_from=START,
            date_to=DATE_TO,
            as_of=as_of,
        )
        return run_aggregate(costed_store, request)["totals"]

    assert retention(datetime(2026, 10, 1, tzinfo=UTC))[f"retention_d{day}"] is None
    later = retention(datetime(2027, 1, 1, tzinfo=UTC))[f"retention_d{day}"]
    assert later is not None and 0 <= later <= 1


def test_blocking_installs_later_moves_them_in_the_rollups(
    report_data: ReportData, tmp_path: Path
) -> None:
    events = _arrow(report_data)
    half = events.num_rows // 2
    store = DuckDBStore(tmp_path / "events.duckdb", threads=2)
    try:
        store.write_events(events.slice(0, half), "test", 0)
        _compare(store)  # rollups hold the first half
        frame = report_data.events
        attributed = frame[(frame["type"] == "install") & (frame["attribution"] == "attributed")]
        active = set(frame.loc[frame["type"].isin(["open", "event"]), "install_event_id"])
        folded = [i for i in attributed["event_id"] if i in active][:40]  # with activity
        later = list(attributed["event_id"][-10:])  # stored below, after the block
        before = _blocked(store)
        changed = store.block_installs(APP, [*folded, *later, "no-such-install"])
        stored_now = set(store.query("SELECT event_id FROM events", [])["event_id"].to_pylist())
        assert changed == len([i for i in [*folded, *later] if i in stored_now]) >= 40
        assert store.block_installs(APP, folded) == 0, "blocking twice changes nothing"
        _compare(store)
        assert _blocked(store) == before + changed
        store.write_events(events.slice(half, events.num_rows - half), "test", 1)
        store.block_installs(APP, later)
        _compare(store)
        total = run_aggregate(store, _blocked_request())["totals"]
        assert total["blocked_installs"] == _blocked(store, rollups=False)
    finally:
        store.close()


def _blocked_request() -> AggregateRequest:
    return AggregateRequest(
        app_id=APP,
        metrics=("installs", "blocked_installs", "revenue"),
        dimensions=("network",),
        date_from=START,
        date_to=DATE_TO,
    )


def _blocked(store: DuckDBStore, rollups: bool | None = None) -> int:
    return run_aggregate(store, _blocked_request(), rollups)["totals"]["blocked_installs"]
