"""The collector's memory of recent event ids, to answer `duplicates` at once.

Exactly-once storage does not depend on this index (the store de-duplicates on write);
the index lets a retried request learn that its events are already in, and keeps
repeats out of the log. It holds the event ids of each app with their admission time and
forgets ids older than the window, oldest first. Memory: about 120 bytes per remembered id
(measured for 32-char ids, expiry queue included); /health reports the count.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from attribo.events.record import decode_records
from attribo.log.base import Log
from attribo.store.base import Store


class RecentIds(Protocol):
    """What the collector needs of a dedup memory (`DedupIndex`, or Redis in the cluster)."""

    @property
    def window_ms(self) -> int:
        """How long an id is remembered."""
        ...

    def admit(self, app_id: str, event_ids: list[str], now_ms: int) -> list[bool]:
        """Remember new ids; True for each id not seen before (also within this call)."""
        ...

    def forget(self, app_id: str, event_ids: list[str]) -> None:
        """Drop ids whose write failed, so that a retry is not taken for a repeat."""
        ...

    def __len__(self) -> int: ...


class DedupIndex:
    """Per-app sets of event ids seen in the last `window_ms`."""

    def __init__(self, window_ms: int):
        self._window_ms = window_ms
        self._ids: dict[str, dict[str, int]] = {}  # app -> event id -> admitted at (ms)
        self._expiry: deque[tuple[int, str, tuple[str, ...]]] = deque()
        self._size = 0

    @property
    def window_ms(self) -> int:
        """How long an id is remembered."""
        return self._window_ms

    def __len__(self) -> int:
        return self._size

    def admit(self, app_id: str, event_ids: list[str], now_ms: int) -> list[bool]:
        """Remember new ids; True for each id not seen before (also within this call)."""
        self.expire(now_ms)
        seen = self._ids.setdefault(app_id, {})
        fresh: list[bool] = []
        added: list[str] = []
        for event_id in event_ids:
            if event_id in seen:
                fresh.append(False)
            else:
                seen[event_id] = now_ms
                added.append(event_id)
                fresh.append(True)
        if added:
            self._expiry.append((now_ms, app_id, tuple(added)))
            self._size += len(added)
        return fresh

    def forget(self, app_id: str, event_ids: list[str]) -> None:
        """Drop ids whose write failed, so that a retry is not taken for a repeat."""
        seen = self._ids.get(app_id)
        if seen is None:
            return
        for event_id in event_ids:
            if seen.pop(event_id, None) is not None:
                self._size -= 1

    def expire(self, now_ms: int) -> None:
        """Forget ids admitted before the window."""
        horizon = now_ms - self._window_ms
        expiry = self._expiry
        while expiry and expiry[0][0] < horizon:
            admitted_at, app_id, event_ids = expiry.popleft()
            seen = self._ids.get(app_id)
            if seen is None:
                continue
            for event_id in event_ids:
                # An id forgotten and admitted again has a newer time: that entry expires it.
                if seen.get(event_id) == admitted_at:
                    del seen[event_id]
                    self._size -= 1


def rebuild_dedup(index: DedupIndex, store: Store, log: Log, from_offset: int, now_ms: int) -> int:
    """After a restart, remember ids stored within the window and those in the log tail."""
    count = 0
    by_app: dict[str, list[str]] = {}
    for app_id, event_id in store.recent_keys(now_ms - index.window_ms):
        by_app.setdefault(app_id, []).append(event_id)
        count += 1
    for app_id, ids in by_app.items():
        index.admit(app_id, ids, now_ms)
    offset = from_offset
    while entries := log.read(offset, 16 << 20):
        for entry in entries:
            tail: dict[str, list[str]] = {}
            for record in decode_records(entry.payload):
                tail.setdefault(record.app_id, []).append(record.event_id)
            for app_id, ids in tail.items():
                index.admit(app_id, ids, now_ms)
                count += len(ids)
        offset = entries[-1].next_offset
    return count
