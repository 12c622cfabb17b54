"""The collector's core, free of any web framework: dedup, enrich, append durably."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from attribo.attribution.live import LiveAttributor, lookup_match_keys, touch_match_keys
from attribo.collector.dedup import RecentIds
from attribo.collector.records import to_record
from attribo.events.record import StoredEvent, encode_records
from attribo.events.types import Event
from attribo.log.base import Log, partition_of

if TYPE_CHECKING:  # the fraud extra is optional; the collector runs without it
    from attribo.fraud.gate import FraudGate


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


@dataclass
class IngestCounters:
    """What the collector has seen since start, for /health and operators."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejected_by_field: dict[str, int] = field(default_factory=dict)

    def reject(self, field_name: str, count: int = 1) -> None:
        """Count rejected events by the field that was wrong."""
        self.rejected += count
        self.rejected_by_field[field_name] = self.rejected_by_field.get(field_name, 0) + count


class Collector:
    """Accepts validated events of one app: drops repeats, enriches, appends to the log."""

    def __init__(
        self,
        log: Log,
        dedup: RecentIds,
        attributor: LiveAttributor | None = None,
        fraud: FraudGate | None = None,
        *,
        attributes: bool = True,
    ):
        self.log = log
        self.dedup = dedup
        # False for a cluster collector: the worker consuming the log attributes, in order.
        self.attributes = attributes
        self.attributor = attributor if attributor is not None else LiveAttributor()
        self.fraud = fraud  # screens touches before attribution, judges installs in it
        if fraud is not None:
            self.attributor.judge = fraud.judge
        self.counters = IngestCounters()
        self._last_seq = 0
        # A device-partitioned stream (cluster): records are routed by this key, not the app.
        self.partition_key: Callable[[StoredEvent], str] | None = None
        # Called with the new records once they are durable (outgoing postbacks).
        self.on_durable: Callable[[list[StoredEvent]], None] | None = None

    def next_seq(self) -> int:
        """Arrival sequence: microseconds since the epoch, strictly increasing."""
        seq = time.time_ns() // 1000
        if seq <= self._last_seq:
            seq = self._last_seq + 1
        self._last_seq = seq
        return seq

    async def ingest(
        self,
        app_id: str,
        events: list[Event],
        *,
        signed: bool = False,
        link_id: str | None = None,
    ) -> tuple[int, int]:
        """Store new events durably; returns (accepted, duplicates) once they are on disk.

        Repeats are answered only after the log is synced, so a repeat is never
        acknowledged before the first copy is durable.
        """
        accepted, duplicates, _ = await self.ingest_records(
            app_id, events, signed=signed, link_id=link_id
        )
        return accepted, duplicates

    async def ingest_records(
        self,
        app_id: str,
        events: list[Event],
        *,
        signed: bool = False,
        link_id: str | None = None,
        retargeting: bool = False,
        reply: str | None = None,
    ) -> tuple[int, int, list[StoredEvent]]:
        """Like `ingest`, also returning the new records with their live attribution.

        `reply` goes with the records to the worker that attributes them (cluster).
        """
        received = now_ms()
        ids = [e.event_id for e in events]
        admit_async = getattr(self.dedup, "admit_async", None)  # shared memory: awaited
        if admit_async is not None:
            fresh = await admit_async(app_id, ids, received)
        else:
            fresh = self.dedup.admit(app_id, ids, received)
        records = [
            to_record(event, received, signed=signed, link_id=link_id)
            for event, new in zip(events, fresh, strict=True)
            if new
        ]
        for record in records:
            record.seq = self.next_seq()
            if retargeting:
                record.retargeting = True
        if self.attributes:
            if self.fraud is not None:
                self.fraud.screen(records)
            self.attributor.observe(records)
            if self.fraud is not None:
                self.fraud.after(records)
        await self.append(app_id, records, reply)
        if self.on_durable is not None and records:
            self.on_durable(records)
        duplicates = len(events) - len(records)
        self.counters.accepted += len(events)
        self.counters.duplicates += duplicates
        return len(events), duplicates, records

    async def append(
        self, app_id: str, records: list[StoredEvent], reply: str | None = None
    ) -> None:
        """Append records durably; on failure forget them so a retry is not a repeat."""
        try:
            if records:
                if self.partition_key is not None:
                    await self._append_routed(records, reply)
                elif reply is None:
                    await self.log.append(encode_records(records), app_id)
                else:  # only the cluster's log carries a reply subject
                    payload = encode_records(records)
                    await self.log.append(payload, app_id, reply=reply)  # type: ignore[call-arg]
                confirm = getattr(self.dedup, "confirm_async", None)
                if confirm is not None:  # a shared memory marks ids durable (RedisDedup)
                    await confirm(app_id, [r.event_id for r in records])
            else:
                await self.log.flush()
        except BaseException:
            self.dedup.forget(app_id, [r.event_id for r in records])
            raise

    async def _append_routed(self, records: list[StoredEvent], reply: str | None) -> None:
        """One append per partition and layer, submitted in order; all must succeed (a retry
        of the request re-sends the rest, and the store folds what got through).

        Across partitions only a touch and an install (or open) sharing a match key depend
        on their order, so each record goes to the first layer after every such record of
        another partition before it (and no earlier than its partition's previous record):
        the stream then sees every pair that matters in the request's order, and the workers
        decide what one process would have. (Appends of one connection keep their order on
        JetStream.) A batch of many devices is a message or two per partition, not one per
        run of touches.
        """
        assert self.partition_key is not None
        count = self.log.partitions  # type: ignore[attr-defined]
        last_layer: dict[int, int] = {}  # partition: the layer of its latest record
        # Touches (True) and installs or opens (False): match key -> partition -> top layer.
        layers: dict[bool, dict[str, dict[int, int]]] = {True: {}, False: {}}
        groups: dict[tuple[int, int], tuple[str, list[StoredEvent]]] = {}  # (layer, partition)
        for record in records:
            key = self.partition_key(record)
            partition = partition_of(key, count)
            layer = last_layer.get(partition, 0)
            touch = record.type in ("click", "impression")
            match_keys: list[str] = []
            if touch:
                match_keys = touch_match_keys(record)
            elif record.type in ("install", "open"):
                match_keys = lookup_match_keys(record)
            for match_key in match_keys:  # after the other side's records of the key
                for other, seen in layers[not touch].get(match_key, {}).items():
                    if other != partition and seen >= layer:
                        layer = seen + 1
            for match_key in match_keys:
                mine = layers[touch].setdefault(match_key, {})
                mine[partition] = max(mine.get(partition, 0), layer)
            last_layer[partition] = layer
            groups.setdefault((layer, partition), (key, []))[1].append(record)
        await asyncio.gather(
            *(
                self.log.append(encode_records(group), key, reply=reply)  # type: ignore[call-arg]
                for key, group in (groups[place] for place in sorted(groups))
            )
        )
