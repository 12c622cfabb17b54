"""Rebuild the live attribution index after a restart, from the store and the log tail.

Replaying touches, installs and the opens that started a re-engagement, in arrival order,
through the same `LiveAttributor` restores the state the collector had (the rules are
deterministic), so answers after a restart agree with those before it; other opens and
in-app events only inherit, and change nothing in it.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from attribo.attribution.live import LiveAttributor
from attribo.events.record import decode_records
from attribo.log.base import Log
from attribo.store.base import EventQuery, Store

_TYPES = ("click", "impression", "install")


def restore_live(
    attributor: LiveAttributor,
    store: Store,
    log: Log | None,
    from_offset: int,
    app_ids: Iterable[str],
) -> int:
    """Feed stored touches, installs and re-engagement starts back in, then the log's whole
    tail; returns how many records.

    Without a `log`, the store alone (the cluster worker attributes the tail itself).
    Nothing is judged again: stored installs keep their verdicts (a blocked one is stored
    so), and fraud statistics are not fed twice. Each stored install brings the horizon it
    was decided under, and the app's horizon ends where its newest stored event put it (an
    in-app event may be newer than every touch and install).
    """
    judge, attributor.judge = attributor.judge, None
    try:
        count = 0
        for app_id in app_ids:
            query = EventQuery(app_id, types=_TYPES, reengagement_opens=True)
            for records in store.iter_records(query):
                attributor.observe(records)
                count += len(records)
            newest = newest_event_ms(store, app_id)
            if newest is not None:
                attributor.raise_watermark(app_id, newest)
        if log is None:
            return count
        offset = from_offset
        while entries := log.read(offset, 16 << 20):
            for entry in entries:  # a short tail: every record, as it was seen then
                tail = decode_records(entry.payload)
                attributor.observe(tail)
                count += len(tail)
            offset = entries[-1].next_offset
        return count
    finally:
        attributor.judge = judge


def newest_event_ms(store: Store, app_id: str) -> int | None:
    """The latest event time stored for the app, in epoch ms (the same SQL on both stores)."""
    sql = "SELECT max(event_time) AS t, count(*) AS n FROM events WHERE app_id = ?"
    table = store.query(sql, [app_id])  # ClickHouse's max of nothing is 0, not NULL
    column = table.column("t")
    if not table.num_rows or not table.column("n")[0].as_py() or column.null_count:
        return None
    as_ms = column.cast(pa.timestamp("ms", tz=column.type.tz)).cast(pa.int64())
    return int(as_ms[0].as_py())
