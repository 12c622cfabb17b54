"""The dedup contract: new vs repeated ids per app, forgetting failed writes, expiry."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from attribo.collector.ingest import now_ms

if TYPE_CHECKING:  # a fixture type only: test dirs are not packages
    from conftest import DedupOpener

HOUR_MS = 3_600_000


def test_new_ids_are_admitted_once(open_dedup: DedupOpener) -> None:
    index = open_dedup(HOUR_MS)
    assert index.admit("a", ["1", "2", "1"], now_ms()) == [True, True, False]
    assert index.admit("a", ["2", "3"], now_ms()) == [False, True]
    assert index.admit("b", ["1"], now_ms()) == [True]  # another app: another event
    assert index.admit("a", [], now_ms()) == []
    assert len(index) == 4
    assert index.window_ms == HOUR_MS


def test_ids_with_separators_do_not_collide(open_dedup: DedupOpener) -> None:
    index = open_dedup(HOUR_MS)
    assert index.admit("a:b", ["c"], now_ms()) == [True]
    assert index.admit("a", ["b:c"], now_ms()) == [True]


def test_forgotten_ids_are_new_again(open_dedup: DedupOpener) -> None:
    index = open_dedup(HOUR_MS)
    index.admit("a", ["1", "2"], now_ms())
    index.forget("a", ["1", "never-seen"])
    index.forget("nobody", ["1"])
    assert index.admit("a", ["1", "2"], now_ms()) == [True, False]


def test_a_second_opener_sees_the_same_ids(open_dedup: DedupOpener) -> None:
    first, second = open_dedup(HOUR_MS), open_dedup(HOUR_MS)
    assert first.admit("a", ["x"], now_ms()) == [True]
    assert second.admit("a", ["x", "y"], now_ms()) == [False, True]


def test_ids_expire_after_the_window(open_dedup: DedupOpener) -> None:
    index = open_dedup(150)
    assert index.admit("a", ["1"], now_ms()) == [True]
    assert index.admit("a", ["1"], now_ms()) == [False]
    time.sleep(0.3)
    index.expire(now_ms())
    assert index.admit("a", ["1"], now_ms()) == [True]
