"""DuckDB backend of the `Store` protocol: one file, owned by one process.

Writes are idempotent by `(app_id, event_id)`: a batch is de-duplicated within itself
and anti-joined against what is stored, so a replayed log or a client that repeats an
event after the collector's in-memory window never stores it twice. The consumer's log
offset is written in the same transaction, so after a crash the pipeline resumes
exactly where the store stands.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from attribo.events.record import StoredEvent
from attribo.store import rollups
from attribo.store.base import EventQuery
from attribo.store.match_keys import ensure_match_keys, match_key_select
from attribo.store.schema import EVENTS_ARROW_SCHEMA, events_ddl, records_from_arrow

_SELECT_COLUMNS = ", ".join(
    f"epoch_ms({name}) AS {name}" if name in ("event_time", "received_at") else name
    for name in EVENTS_ARROW_SCHEMA.names
)

_KEYS = match_key_select("i.")


def _events_select(query: EventQuery) -> tuple[str, list[object]]:
    """The SELECT of `query`'s events in arrival order, and its parameters."""
    where, params = query.where("make_timestamp(? * 1000)")
    sql = f"SELECT {_SELECT_COLUMNS} FROM events WHERE {where} ORDER BY seq, received_at, event_id"
    return sql, params


class StoreBusy(OSError):
    """The store file cannot be opened, typically because a server process owns it."""


class DuckDBStore:
    """Events in a DuckDB file; readers get their own cursor, the writer holds a lock."""

    def __init__(self, path: Path, threads: int = 0):
        """Open (or create) the file; `threads` 0 means all cores but one.

        The spare core is for the collector: DuckDB's workers at full priority otherwise
        take it during each micro-batch and checkpoint, and install answers wait (p99 x4).
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = duckdb.connect(str(path))
        except duckdb.IOException as exc:  # most often: another process holds the file
            raise StoreBusy(f"cannot open {path}: {exc}") from exc
        self._conn.execute("SET TimeZone = 'UTC'")
        self._conn.execute(f"SET threads = {threads or max(1, (os.cpu_count() or 2) - 1)}")
        self._conn.execute(events_ddl())
        ensure_match_keys(self._conn)
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS consumer_offsets ("
            "consumer VARCHAR PRIMARY KEY, log_offset BIGINT NOT NULL)"
        )
        self._write_lock = threading.Lock()
        self._rollup_lock = threading.Lock()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = self._conn.cursor()
        cursor.execute("SET TimeZone = 'UTC'")
        return cursor

    def write_events(self, batch: pa.Table, consumer: str, log_offset: int) -> int:
        """Insert new events and move the consumer's offset in one transaction."""
        return self.write_events_at(batch, {consumer: log_offset})

    def write_events_at(self, batch: pa.Table, offsets: Mapping[str, int]) -> int:
        """Insert new events and move every given consumer's offset in one transaction."""
        with self._write_lock:
            conn = self._conn
            conn.execute("BEGIN TRANSACTION")
            try:
                conn.register("incoming", batch)
                inserted = 0
                if batch.num_rows:
                    row = conn.execute(
                        f"INSERT INTO events BY NAME SELECT i.*, {_KEYS} FROM ("
                        "  SELECT * FROM incoming QUALIFY row_number() OVER ("
                        "    PARTITION BY app_id, event_id ORDER BY received_at) = 1"
                        ") i ANTI JOIN events e ON e.app_id = i.app_id AND e.event_id = i.event_id"
                    ).fetchone()
                    inserted = int(row[0]) if row else 0
                conn.executemany(
                    "INSERT OR REPLACE INTO consumer_offsets VALUES (?, ?)",
                    [[name, offset] for name, offset in offsets.items()],
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            finally:
                conn.unregister("incoming")
        return inserted

    def consumer_offset(self, consumer: str) -> int | None:
        """Where `consumer` stands in the log."""
        row = (
            self._cursor()
            .execute("SELECT log_offset FROM consumer_offsets WHERE consumer = ?", [consumer])
            .fetchone()
        )
        return None if row is None else int(row[0])

    def recent_keys(self, since_ms: int) -> Iterator[tuple[str, str]]:
        """Keys of events received since `since_ms`, oldest first."""
        cursor = self._cursor()
        cursor.execute(
            "SELECT app_id, event_id FROM events WHERE received_at >= make_timestamp(? * 1000)"
            " ORDER BY received_at",
            [since_ms],
        )
        while chunk := cursor.fetchmany(50_000):
            yield from chunk

    def iter_events(
        self, query: EventQuery, chunk_rows: int = 10_000
    ) -> Iterator[list[dict[str, Any]]]:
        """Raw events of one app, filtered by type and received time."""
        sql, params = _events_select(query)
        cursor = self._cursor()
        cursor.execute(sql, params)
        names = EVENTS_ARROW_SCHEMA.names
        while chunk := cursor.fetchmany(chunk_rows):
            yield [dict(zip(names, row, strict=True)) for row in chunk]

    def iter_records(
        self, query: EventQuery, chunk_rows: int = 50_000
    ) -> Iterator[list[StoredEvent]]:
        """As `iter_events`, as records: Arrow batches turned column by column."""
        sql, params = _events_select(query)
        reader = self._cursor().sql(sql, params=params).to_arrow_reader(chunk_rows)
        for batch in reader:
            if batch.num_rows:
                yield records_from_arrow(batch)

    def count_events(self, app_id: str | None = None) -> int:
        """Stored events, for one app or all."""
        cursor = self._cursor()
        if app_id is None:
            row = cursor.execute("SELECT count(*) FROM events").fetchone()
        else:
            row = cursor.execute(
                "SELECT count(*) FROM events WHERE app_id = ?", [app_id]
            ).fetchone()
        return int(row[0]) if row else 0

    def side_cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for a side table kept in the same file (SKAN postbacks)."""
        return self._cursor()

    def query(self, sql: str, params: list[object]) -> pa.Table:
        """Run a read-only query on its own cursor; the result as Arrow."""
        return self._cursor().sql(sql, params=params).to_arrow_table()

    def refresh_rollups(self) -> bool:
        """Bring the report rollups up to the stored events (see `store.rollups`)."""
        with self._rollup_lock:
            rollups.refresh_rollups(self._cursor())
        return True

    def block_installs(self, app_id: str, event_ids: list[str]) -> int:
        """Mark stored installs `blocked` (fraud found later), rollups kept in step."""
        if not event_ids:
            return 0
        with self._rollup_lock:
            return rollups.relabel_installs(self._cursor(), app_id, event_ids, "blocked")

    def reset_rollups(self) -> None:
        """Forget the rollups after stored events were rewritten; the next refresh rebuilds."""
        with self._rollup_lock:
            rollups.reset_rollups(self._cursor())

    def close(self) -> None:
        """Checkpoint and close the file."""
        with self._write_lock:
            self._conn.close()
