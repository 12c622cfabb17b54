"""Fraud statistics over workers that share an app's devices: each folds in the others' rows.

Partitioned by device, one app's installs spread over every worker, and a device farm
spread over N workers would look N times smaller to each. So every worker sends what it
folds into its contexts (a slim copy of each record, grouped by log entry) to a feed that
all read, and folds the other workers' entries in stream order: before its own entry at
offset `o`, every received entry from before `o`. An install waits until the other
partitions are indexed up to it, and workers send their rows before they say so, so its
verdict then counts every earlier install of the app, whoever read it.

An entry is counted once per worker: the highest offset counted per partition is kept,
and a later copy (the same entry again, after another worker took its partition over
mid-stream) is passed over, whether it comes from the feed or from this worker's own read.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from attribo.events.record import StoredEvent

FeedGroup = tuple[int, int, list[StoredEvent]]  # partition, entry offset, its slim rows


def slim(record: StoredEvent) -> StoredEvent:
    """The fields `FraudContext.add` reads, as they are now (a verdict may change them)."""
    return StoredEvent(
        app_id=record.app_id,
        event_id=record.event_id,
        type=record.type,
        event_time=record.event_time,
        received_at=0,
        platform=record.platform,
        idfa=record.idfa,
        idfv=record.idfv,
        gaid=record.gaid,
        android_id=record.android_id,
        ip=record.ip,
        device_model=record.device_model,
        network=record.network,
        site_id=record.site_id,
        attribution=record.attribution,
        attributed_network=record.attributed_network,
        attributed_site_id=record.attributed_site_id,
        ctit_ms=record.ctit_ms,
        install_event_id=record.install_event_id,
    )


class ContextFeed:
    """One worker's side of the feed: what it sends, what waits to be folded, what is in."""

    def __init__(self) -> None:
        self._waiting: list[tuple[int, int, int, list[StoredEvent]]] = []  # a heap
        self._arrived = 0  # tie-break: equal offsets fold in arrival order
        self._counted: dict[int, int] = {}  # partition -> highest entry offset counted
        self._outbox: list[FeedGroup] = []
        self._entry: tuple[int, int] | None = None
        self._rows: list[StoredEvent] = []
        self.counting = True  # whether this worker's current entry is new to its contexts
        self.passed_over = 0  # entries seen twice (a takeover), counted once

    @property
    def waiting(self) -> int:
        """Entries received from other workers and not folded in yet."""
        return len(self._waiting)

    def receive(self, groups: Iterable[FeedGroup]) -> None:
        """Hold other workers' entries until this worker's stream position passes them."""
        for partition, offset, rows in groups:
            self._arrived += 1
            heapq.heappush(self._waiting, (offset, self._arrived, partition, rows))

    def due(self, offset: int) -> list[StoredEvent]:
        """The received rows from before this worker's entry at `offset`, to fold in first."""
        rows: list[StoredEvent] = []
        while self._waiting and self._waiting[0][0] < offset:
            got, _, partition, group = heapq.heappop(self._waiting)
            if self._claim(partition, got):
                rows.extend(group)
        return rows

    def begin(self, partition: int, offset: int) -> None:
        """Start this worker's entry; `counting` then says whether it is new."""
        self._entry = (partition, offset)
        self._rows = []
        self.counting = self._claim(partition, offset)

    def note(self, record: StoredEvent) -> None:
        """This worker folded `record` into a context: the others will too."""
        if self._entry is not None:
            self._rows.append(slim(record))

    def end(self) -> None:
        """The entry is attributed: queue its rows for the feed."""
        if self._entry is not None and self._rows:
            partition, offset = self._entry
            self._outbox.append((partition, offset, self._rows))
        self._entry, self._rows = None, []

    def take_outbox(self) -> list[FeedGroup]:
        """The entries to send since the last call."""
        out, self._outbox = self._outbox, []
        return out

    def counted_through(self, offsets: dict[int, int]) -> None:
        """Every entry of these partitions up to these offsets is counted (from the store)."""
        for partition, offset in offsets.items():
            self._counted[partition] = max(offset, self._counted.get(partition, -1))

    def _claim(self, partition: int, offset: int) -> bool:
        if offset <= self._counted.get(partition, -1):
            self.passed_over += 1
            return False
        self._counted[partition] = offset
        return True
