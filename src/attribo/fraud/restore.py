"""Rebuild the live fraud statistics after a restart, from the store and the log tail.

Without it a restart wipes every app's counters, and a device farm's next installs pass
until its /24 fills up again. The gate folds an app's records in arrival order and starts
afresh every `max_context_events`, so replaying the stored records (then the log's tail)
from the last such point onwards gives the counters it had before it stopped, and the
next fresh start comes where it would have come.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import msgspec

from attribo.events.record import StoredEvent, decode_records
from attribo.fraud.gate import BLOCKED, FraudGate
from attribo.log.base import Log
from attribo.store.base import EventQuery, Store

CHUNK_ROWS = 50_000


def restore_fraud(
    gate: FraudGate,
    store: Store,
    log: Log | None,
    from_offset: int,
    app_ids: Iterable[str],
) -> int:
    """Fold stored and logged records back into the apps' contexts; returns how many.

    Without a `log`, the store alone (a cluster worker attributes the tail itself, and
    the gate counts it then).
    """
    tail: dict[str, list[StoredEvent]] = defaultdict(list)
    if log is not None:
        offset = from_offset
        while entries := log.read(offset, 16 << 20):
            for entry in entries:
                for record in decode_records(entry.payload):
                    tail[record.app_id].append(record)
            offset = entries[-1].next_offset
    folded = 0
    for app_id in app_ids:
        gate.forget(app_id)
        total = store.count_events(app_id) + len(tail[app_id])
        skip = total // gate.max_context_events * gate.max_context_events
        context = gate.context(app_id)
        seen = 0
        for chunk in store.iter_records(EventQuery(app_id), chunk_rows=CHUNK_ROWS):
            if seen + len(chunk) <= skip:
                seen += len(chunk)
                continue
            start, seen = max(0, skip - seen), seen + len(chunk)
            for record in chunk[start:]:
                context.add(_as_judged(record))
                folded += 1
        for record in tail[app_id][max(0, skip - seen) :]:
            context.add(_as_judged(record))
            folded += 1
    return folded


def _as_judged(record: StoredEvent) -> StoredEvent:
    """A rejected install as the gate counted it: before the verdict, under the network
    that would have been credited (stored beside the mark)."""
    if record.type == "install" and record.attribution == BLOCKED and record.attributed_network:
        return msgspec.structs.replace(record, attribution="attributed")
    return record
