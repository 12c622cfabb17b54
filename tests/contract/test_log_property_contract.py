"""Reads do not depend on the read budget or the resume points (Hypothesis, every log)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if TYPE_CHECKING:  # a fixture type only: test dirs are not packages
    from conftest import LogOpener

_logs: dict[int, tuple[Any, Any]] = {}


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payloads=st.lists(st.binary(max_size=3000), min_size=1, max_size=30),
    budgets=st.lists(st.integers(1, 9000), min_size=1, max_size=5),
)
def test_any_budget_replays_exactly_what_was_appended(
    open_log: LogOpener, payloads: list[bytes], budgets: list[int]
) -> None:
    # One log for all examples (the opener is kept so its id cannot be reused); each example
    # reads only what it appended, from the end it found.
    if id(open_log) not in _logs:
        _logs[id(open_log)] = (open_log, open_log())
    log = _logs[id(open_log)][1]
    start = log.end_offset()

    async def append_all() -> list[int]:
        return list(await asyncio.gather(*(log.append(p) for p in payloads)))

    offsets = asyncio.run(append_all())
    assert len(set(offsets)) == len(payloads)
    got: list[tuple[int, bytes]] = []
    offset, turn = start, 0
    while batch := log.read(offset, budgets[turn % len(budgets)]):
        assert batch, "a read with entries left returns at least one"
        got.extend((e.next_offset, e.payload) for e in batch)
        offset = batch[-1].next_offset
        turn += 1
    assert sorted(p for _, p in got) == sorted(payloads)
    assert dict(got) == dict(zip(offsets, payloads, strict=True))
    assert [o for o, _ in got] == sorted(o for o, _ in got)
    assert offset == log.end_offset()
