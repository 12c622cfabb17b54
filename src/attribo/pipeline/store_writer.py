"""The consumer that writes the log into the store, in micro-batches, exactly once.

The offset it has reached is written with the events in one store transaction, so a
crash at any point resumes from what the store holds; the store's idempotent write
makes a repeat harmless too. Segments the store has fully taken are trimmed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time

from attribo.log.base import Log
from attribo.store.base import Store
from attribo.store.schema import payloads_to_table

CONSUMER = "store"
_NICE = 10
_log = logging.getLogger(__name__)


def lower_priority() -> None:
    """Let the collector's thread win the CPU when both want it (Linux: nice is per thread).

    Acknowledging events only needs the log; the store may fall behind during a burst and
    catch up after it, which /health shows as `pipeline_lag_bytes`.
    """
    with contextlib.suppress(AttributeError, OSError):  # elsewhere: normal priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _NICE)


class StoreWriter:
    """A background thread: log → store, at least once, idempotent, never dying on errors."""

    def __init__(self, log: Log, store: Store, max_events: int = 100_000, idle_ms: int = 200):
        self._log = log
        self._store = store
        self._max_bytes = max_events * 200  # about 200 bytes an event in the log
        self._idle_s = idle_ms / 1000
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="attribo-store-writer", daemon=True)
        stored = store.consumer_offset(CONSUMER)
        self.offset = log.start_offset() if stored is None else stored
        self.errors = 0

    def start(self) -> None:
        """Start consuming in the background."""
        self._thread.start()

    def step(self) -> int:
        """Move one micro-batch; returns how many log bytes it took (0: the store is caught up)."""
        start = self.offset
        entries = self._log.read(start, self._max_bytes)
        if not entries:
            return 0
        table = payloads_to_table([entry.payload for entry in entries], use_threads=False)
        self._store.write_events(table, CONSUMER, entries[-1].next_offset)
        self.offset = entries[-1].next_offset
        trim = getattr(self._log, "trim", None)
        if trim is not None:
            trim(self.offset)
        return self.offset - start

    def lag_bytes(self) -> int:
        """How far the store is behind the log."""
        return max(0, self._log.end_offset() - self.offset)

    def wait_caught_up(self, timeout_s: float) -> bool:
        """Block until the store holds everything durable in the log now."""
        target = self._log.end_offset()
        deadline = time.monotonic() + timeout_s
        while self.offset < target:
            if time.monotonic() > deadline:
                return False
            self._wake.set()
            time.sleep(0.01)
        return True

    def _run(self) -> None:
        lower_priority()
        while not self._stop.is_set():
            try:
                moved = self.step()
            except Exception:  # keep consuming; the batch is retried from the same offset
                self.errors += 1
                _log.exception("store writer failed; retrying")
                self._stop.wait(1.0)
                continue
            if moved < self._max_bytes:
                # A short batch means the log is drained: let the next one build up for an
                # idle period instead of paying a store transaction per handful of events.
                self._wake.wait(self._idle_s)
                self._wake.clear()

    def stop(self, drain: bool = True) -> None:
        """Stop the thread, first writing what the log holds if `drain`."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()
        if drain:
            while self.step():
                pass
