"""Writes do not depend on batch boundaries and a retried batch never doubles (Hypothesis)."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attribo.events.record import StoredEvent
from attribo.store.base import EventQuery
from attribo.store.schema import records_to_table

if TYPE_CHECKING:  # a fixture type only: test dirs are not packages
    from conftest import StoreOpener

T0 = 1_760_000_000_000
_apps = itertools.count()
_stores: dict[int, tuple[Any, Any]] = {}

# (event id, received offset ms): few ids, so repeats within and across batches are common.
arrivals = st.lists(st.tuples(st.integers(0, 12), st.integers(0, 50)), min_size=1, max_size=40)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(arrivals=arrivals, cuts=st.lists(st.integers(1, 40), max_size=6), retry=st.booleans())
def test_batches_and_retries_store_each_first_copy_once(
    open_store: StoreOpener, arrivals: list[tuple[int, int]], cuts: list[int], retry: bool
) -> None:
    # One store for all examples of a test (each example has its own app); the opener is kept
    # with it, so its id cannot be reused by a later test's opener.
    if id(open_store) not in _stores:
        _stores[id(open_store)] = (open_store, open_store())
    store = _stores[id(open_store)][1]
    app = f"app{next(_apps)}"
    records = [
        StoredEvent(
            app_id=app,
            event_id=f"e{event}",
            type="click",
            event_time=T0,
            received_at=T0 + at * 100 + n,  # no ties: which tied copy wins is not specified
            name=f"copy{n}",
        )
        for n, (event, at) in enumerate(arrivals)
    ]
    bounds = sorted({0, len(records), *(c for c in cuts if c < len(records))})
    written = 0
    offset = 0
    for start, stop in itertools.pairwise(bounds):
        batch = records_to_table(records[start:stop])
        offset += 1
        written += store.write_events(batch, app, offset)
        if retry:  # the same batch again, as after a crash before the offset was seen
            assert store.write_events(batch, app, offset) == 0
    # Expected: per id, the earliest-received copy of the first batch that holds the id.
    expected: dict[str, str] = {}
    for start, stop in itertools.pairwise(bounds):
        firsts: dict[str, StoredEvent] = {}
        for record in records[start:stop]:
            best = firsts.get(record.event_id)
            if best is None or record.received_at < best.received_at:
                firsts[record.event_id] = record
        for event_id, record in firsts.items():
            expected.setdefault(event_id, record.name or "")
    assert written == len(expected) == store.count_events(app)
    stored = {r["event_id"]: r["name"] for c in store.iter_events(EventQuery(app)) for r in c}
    assert stored == expected
    assert store.consumer_offset(app) == offset
