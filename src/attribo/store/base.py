"""The `Store` protocol every analytics backend implements (DuckDB now, ClickHouse later)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from attribo.events.record import StoredEvent


@dataclass(frozen=True)
class EventQuery:
    """Which raw events to read: one app, optional types, a received-at range in epoch ms.

    `reengagement_opens`: with `types`, also the opens that started a re-engagement (rule
    7), whose campaign later events inherit for a while (restoring live state reads them).
    """

    app_id: str
    types: tuple[str, ...] = ()
    since_ms: int | None = None
    until_ms: int | None = None
    reengagement_opens: bool = False

    def where(self, epoch_ms: str) -> tuple[str, list[object]]:
        """The SQL condition and its parameters; `epoch_ms` turns a `?` of epoch ms into the
        engine's timestamp (each backend's SQL differs there only)."""
        clauses: list[str] = ["app_id = ?"]
        params: list[object] = [self.app_id]
        if self.types:
            kinds = f"type IN ({', '.join('?' for _ in self.types)})"
            if self.reengagement_opens:  # the open a re-engagement starts with says how
                kinds = (  # it matched; the opens and events it credits later do not
                    f"({kinds} OR (type = 'open' AND attribution = 'reengagement'"
                    " AND match_type IS NOT NULL))"
                )
            clauses.append(kinds)
            params.extend(self.types)
        if self.since_ms is not None:
            clauses.append(f"received_at >= {epoch_ms}")
            params.append(self.since_ms)
        if self.until_ms is not None:
            clauses.append(f"received_at < {epoch_ms}")
            params.append(self.until_ms)
        return " AND ".join(clauses), params


class Store(Protocol):
    """Idempotent event storage with the consumer's log offset kept alongside."""

    def write_events(self, batch: pa.Table, consumer: str, log_offset: int) -> int:
        """Store events not stored yet and the consumer's offset, atomically; returns new rows."""
        ...

    def write_events_at(self, batch: pa.Table, offsets: Mapping[str, int]) -> int:
        """As `write_events`, moving several consumers at once (one per log partition)."""
        ...

    def consumer_offset(self, consumer: str) -> int | None:
        """The log offset up to which `consumer` has written, or None if it never has."""
        ...

    def recent_keys(self, since_ms: int) -> Iterator[tuple[str, str]]:
        """(app_id, event_id) of events received since `since_ms`, to rebuild dedup state."""
        ...

    def iter_events(
        self, query: EventQuery, chunk_rows: int = 10_000
    ) -> Iterator[list[dict[str, Any]]]:
        """Raw events matching `query`, in received order, a chunk at a time; times in epoch ms."""
        ...

    def iter_records(
        self, query: EventQuery, chunk_rows: int = 50_000
    ) -> Iterator[list[StoredEvent]]:
        """As `iter_events`, as records (what restoring live state after a restart reads)."""
        ...

    def count_events(self, app_id: str | None = None) -> int:
        """How many events are stored (for one app, or all)."""
        ...

    def query(self, sql: str, params: list[object]) -> pa.Table:
        """Rows of a read-only SQL query (with `?` parameters) as Arrow: replay, reports."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...
