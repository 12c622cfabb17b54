"""GC pause figures of /health, and the freezer that keeps long-lived state out of scans."""

from __future__ import annotations

import asyncio
import contextlib
import gc

from attribo.api.gc_pauses import GcPauses, freeze_long_lived


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_collections_are_counted_per_generation_and_timed() -> None:
    pauses = GcPauses(slow_ms=0.0)  # every pause counts as slow here
    pauses.install()
    try:
        before = pauses.as_dict()
        gc.collect(0)
        gc.collect(2)
        after = pauses.as_dict()
    finally:
        pauses.remove()
    assert before["gc_collections"] == [0, 0, 0]
    assert after["gc_collections"][0] >= 1 and after["gc_collections"][2] >= 1
    assert after["gc_pause_max_ms"] > 0
    assert after["gc_pauses_over_10ms"] == sum(after["gc_collections"])
    gc.collect(0)
    assert pauses.as_dict()["gc_collections"] == after["gc_collections"]  # removed: not counted


def test_the_freezer_takes_survivors_out_of_full_collections() -> None:
    async def run() -> int:
        task = asyncio.create_task(freeze_long_lived(every_s=0.01))
        await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return gc.get_freeze_count()

    gc.unfreeze()
    kept = [_Cycle() for _ in range(1000)]
    try:
        frozen = asyncio.run(run())
        assert frozen >= len(kept)
        scanned = {id(o) for o in gc.get_objects()}  # what collections still look at
        assert not any(id(c) in scanned for c in kept)
    finally:
        gc.unfreeze()
