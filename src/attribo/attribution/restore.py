"""Rebuild the live attribution index after a restart, from the store and the log tail.

Replaying touches, installs and the opens that started a re-engagement, in arrival order,
through the same `LiveAttributor` restores the state the collector had (the rules are
deterministic), so answers after a restart agree with those before it; other opens and
in-app events only inherit, and change nothing in it.
"""

from __future__ import annotations

from collections.abc import Iterable

from attribo.attribution.live import LiveAttributor
from attribo.events.record import decode_records
from attribo.log.base import Log
from attribo.store.base import EventQuery, Store

_TYPES = ("click", "impression", "install")
_TAIL_TYPES = (*_TYPES, "open")  # a short tail: every open is run again (the same ones start)


def restore_live(
    attributor: LiveAttributor,
    store: Store,
    log: Log | None,
    from_offset: int,
    app_ids: Iterable[str],
) -> int:
    """Feed stored and logged touches and installs back in; returns how many.

    Without a `log`, the store alone (the cluster worker attributes the tail itself).
    Nothing is judged again: stored installs keep their verdicts (a blocked one is stored
    so), and fraud statistics are not fed twice.
    """
    judge, attributor.judge = attributor.judge, None
    try:
        count = 0
        for app_id in app_ids:
            query = EventQuery(app_id, types=_TYPES, reengagement_opens=True)
            for records in store.iter_records(query):
                attributor.observe(records)
                count += len(records)
        if log is None:
            return count
        offset = from_offset
        while entries := log.read(offset, 16 << 20):
            for entry in entries:
                tail = [r for r in decode_records(entry.payload) if r.type in _TAIL_TYPES]
                attributor.observe(tail)
                count += len(tail)
            offset = entries[-1].next_offset
        return count
    finally:
        attributor.judge = judge
