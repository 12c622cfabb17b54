"""`DedupIndex`: each id is fresh once per window, per app; expiry and `forget` reopen it."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from attribo.collector.dedup import DedupIndex, rebuild_dedup
from attribo.events.record import StoredEvent, encode_records
from attribo.log.local import LocalLog
from attribo.store.duckdb import DuckDBStore
from attribo.store.schema import records_to_table

WINDOW = 1_000
ids = st.sampled_from([f"e{i}" for i in range(12)])
apps = st.sampled_from(["a", "b"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(apps, st.lists(ids, max_size=8)), max_size=12), st.data())
def test_each_id_is_fresh_exactly_once_within_the_window(calls, data):
    index = DedupIndex(WINDOW)
    now = 0
    fresh_count: dict[tuple[str, str], int] = {}
    for app, batch in calls:
        now += data.draw(st.integers(0, WINDOW // len(calls)), label="dt")
        fresh = index.admit(app, batch, now)
        assert len(fresh) == len(batch)
        seen_in_call: set[str] = set()
        for event_id, is_fresh in zip(batch, fresh, strict=True):
            if event_id in seen_in_call:
                assert not is_fresh, "a repeat within one call must be caught"
            seen_in_call.add(event_id)
            fresh_count[(app, event_id)] = fresh_count.get((app, event_id), 0) + is_fresh
    assert all(count == 1 for count in fresh_count.values())
    assert len(index) == len(fresh_count)
    # Admitting everything again changes nothing: idempotent.
    for app, batch in calls:
        assert index.admit(app, batch, now) == [False] * len(batch)
    assert len(index) == len(fresh_count)


operations = st.lists(
    st.tuples(
        st.sampled_from(["admit", "admit", "forget"]),
        st.just("a") | apps,
        st.lists(st.sampled_from(["x", "y"]), min_size=1, max_size=3),
        st.sampled_from([0, 1, WINDOW // 3, WINDOW // 2, WINDOW]) | st.integers(0, 2 * WINDOW),
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(operations)
def test_matches_a_model_with_expiry_and_forget(ops):
    """Reference: an id admitted at t is remembered while now - window <= t, unless forgotten."""
    index = DedupIndex(WINDOW)
    model: dict[tuple[str, str], int] = {}
    now = 0
    for op, app, batch, dt in ops:
        now += dt
        if op == "forget":
            index.forget(app, batch)
            for event_id in batch:
                model.pop((app, event_id), None)
        else:
            model = {key: t for key, t in model.items() if t >= now - WINDOW}
            expected = []
            for event_id in batch:
                expected.append((app, event_id) not in model)
                model.setdefault((app, event_id), now)
            assert index.admit(app, batch, now) == expected, (op, app, batch, now)
        assert len(index) == len(model)


def test_expiry_forgets_ids_older_than_the_window():
    index = DedupIndex(WINDOW)
    assert index.admit("a", ["old"], 0) == [True]
    assert index.admit("a", ["mid"], 500) == [True]
    index.expire(WINDOW)
    assert len(index) == 2  # "old" is exactly window_ms old: still remembered
    index.expire(WINDOW + 1)
    assert len(index) == 1
    assert index.admit("a", ["old", "mid"], WINDOW + 1) == [True, False]


def test_an_id_is_fresh_again_after_the_window_without_other_calls():
    index = DedupIndex(WINDOW)
    assert index.admit("a", ["x"], 0) == [True]
    assert index.admit("a", ["x"], WINDOW) == [False]
    assert index.admit("a", ["x"], 3 * WINDOW) == [True]
    assert len(index) == 1


def test_forget_lets_an_id_be_admitted_again():
    index = DedupIndex(WINDOW)
    assert index.admit("a", ["x", "y"], 0) == [True, True]
    index.forget("a", ["x"])
    assert len(index) == 1
    assert index.admit("a", ["x", "y"], 10) == [True, False]
    assert len(index) == 2


def test_forget_unknown_ids_and_apps_is_a_no_op():
    index = DedupIndex(WINDOW)
    index.admit("a", ["x"], 0)
    index.forget("a", ["nope"])
    index.forget("other", ["x"])
    assert len(index) == 1
    assert index.admit("a", ["x"], 1) == [False]


def test_readmitted_id_is_remembered_for_a_full_window():
    # A failed write is forgotten and retried later; the retry's id must live a whole window
    # from the retry, not expire with the failed attempt's queue entry.
    index = DedupIndex(WINDOW)
    index.admit("a", ["x"], 0)
    index.forget("a", ["x"])
    assert index.admit("a", ["x"], 500) == [True]
    index.expire(WINDOW + 1)
    assert len(index) == 1
    assert index.admit("a", ["x"], WINDOW + 1) == [False]


def test_apps_are_isolated():
    index = DedupIndex(WINDOW)
    assert index.admit("a", ["x"], 0) == [True]
    assert index.admit("b", ["x"], 0) == [True]
    assert len(index) == 2
    index.forget("a", ["x"])
    assert index.admit("b", ["x"], 1) == [False]
    assert index.admit("a", ["x"], 1) == [True]


def record(app_id: str, event_id: str, received_at: int) -> StoredEvent:
    return StoredEvent(app_id, event_id, "install", received_at, received_at)


def test_rebuild_remembers_recent_stored_ids_and_the_log_tail(tmp_path):
    now = 1_750_000_000_000
    store = DuckDBStore(tmp_path / "store.duckdb")
    log = LocalLog(tmp_path / "log", fsync=False)
    try:
        stored = [record("a", "old", now - 2 * WINDOW), record("a", "s1", now - 10)]
        store.write_events(records_to_table(stored), "p", 0)

        async def append_tail() -> int:
            start = log.end_offset()
            await log.append(encode_records([record("a", "t1", now), record("b", "t2", now)]))
            return start

        tail_start = asyncio.run(append_tail())
        index = DedupIndex(WINDOW)
        count = rebuild_dedup(index, store, log, tail_start, now)
        assert count == 3
        assert len(index) == 3
        assert index.admit("a", ["s1", "t1", "old"], now) == [False, False, True]
        assert index.admit("b", ["t2"], now) == [False]
    finally:
        log.close()
        store.close()
