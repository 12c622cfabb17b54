"""The dedup contract: new vs repeated ids per app, forgetting failed writes, expiry."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attribo.collector.ingest import now_ms

if TYPE_CHECKING:  # a fixture type only: test dirs are not packages
    from conftest import DedupOpener

HOUR_MS = 3_600_000


def admit(index: Any, app_id: str, event_ids: list[str]) -> list[bool]:
    """What the collector does: admit, append durably, then confirm the new ids if asked."""
    fresh = index.admit(app_id, event_ids, now_ms())
    confirm = getattr(index, "confirm", None)
    if confirm is not None:
        confirm(app_id, [e for e, new in zip(event_ids, fresh, strict=True) if new])
    return fresh


def test_new_ids_are_admitted_once(open_dedup: DedupOpener) -> None:
    index = open_dedup(HOUR_MS)
    assert admit(index, "a", ["1", "2", "1"]) == [True, True, False]
    assert admit(index, "a", ["2", "3"]) == [False, True]
    assert admit(index, "b", ["1"]) == [True]  # another app: another event
    assert admit(index, "a", []) == []
    assert len(index) == 4
    assert index.window_ms == HOUR_MS


def test_ids_with_separators_do_not_collide(open_dedup: DedupOpener) -> None:
    index = open_dedup(HOUR_MS)
    assert admit(index, "a:b", ["c"]) == [True]
    assert admit(index, "a", ["b:c"]) == [True]


def test_forgotten_ids_are_new_again(open_dedup: DedupOpener) -> None:
    index = open_dedup(HOUR_MS)
    admit(index, "a", ["1", "2"])
    index.forget("a", ["1", "never-seen"])
    index.forget("nobody", ["1"])
    assert admit(index, "a", ["1", "2"]) == [True, False]


def test_a_second_opener_sees_the_same_ids(open_dedup: DedupOpener) -> None:
    first, second = open_dedup(HOUR_MS), open_dedup(HOUR_MS)
    assert admit(first, "a", ["x"]) == [True]
    assert admit(second, "a", ["x", "y"]) == [False, True]


def test_ids_expire_after_the_window(open_dedup: DedupOpener) -> None:
    index = open_dedup(150)
    assert admit(index, "a", ["1"]) == [True]
    assert admit(index, "a", ["1"]) == [False]
    time.sleep(0.3)
    index.expire(now_ms())
    assert admit(index, "a", ["1"]) == [True]


_indexes: dict[int, tuple[Any, Any]] = {}
_runs = iter(range(1 << 30))

operations = st.lists(
    st.tuples(
        st.sampled_from(["admit", "forget"]),
        st.sampled_from(["a", "b", "a:b"]),
        st.lists(st.sampled_from(["1", "2", "3", "b:1", "é"]), max_size=6),
    ),
    max_size=25,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_answers_match_a_set_of_remembered_ids(open_dedup: DedupOpener, ops: list) -> None:
    if id(open_dedup) not in _indexes:  # one index per test; each example its own apps
        _indexes[id(open_dedup)] = (open_dedup, open_dedup(HOUR_MS))
    index = _indexes[id(open_dedup)][1]
    run = f"r{next(_runs)}/"
    remembered: set[tuple[str, str]] = set()
    for op, app, ids in ops:
        if op == "forget":
            index.forget(run + app, ids)
            remembered -= {(app, i) for i in ids}
            continue
        expected = []
        for event_id in ids:
            expected.append((app, event_id) not in remembered)
            remembered.add((app, event_id))
        assert admit(index, run + app, ids) == expected
