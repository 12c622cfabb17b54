"""ClickHouse backend of the `Store` protocol, on chDB in-process or a server over HTTP.

All SQL lives here and in `clickhouse_sql`; a client adapter only moves SQL and Arrow tables
(`ChdbClient` for `chdb:///path`, `HttpClient` for `http(s)://host:port`).

Exactly once without transactions: a batch is de-duplicated within itself (first received copy
wins), the keys already stored are looked up, and only new rows are inserted, with an insert
deduplication token derived from the consumer, its log offset and the keys, so a batch retried
after a lost answer is dropped by the server. The consumer's offset is written after the
events: a crash between the two replays the batch, and the anti-join makes that harmless.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import pyarrow as pa
from pyarrow import compute as pc

from attribo.events.record import StoredEvent
from attribo.store.base import EventQuery
from attribo.store.clickhouse_layout import Layout
from attribo.store.clickhouse_sql import (
    DUCKDB_COMPAT_FUNCTIONS,
    TIME_COLUMNS,
    bind,
    events_ddl,
    offsets_ddl,
)
from attribo.store.schema import EVENTS_ARROW_SCHEMA, records_from_arrow

# Times leave as epoch ms under another name: a ClickHouse alias shadows the column in WHERE.
_SELECT_COLUMNS = ", ".join(
    f"toUnixTimestamp64Milli(`{name}`) AS `{name}_ms`" if name in TIME_COLUMNS else f"`{name}`"
    for name in EVENTS_ARROW_SCHEMA.names
)
_KEYS_SCHEMA = pa.schema([("app_id", pa.string()), ("event_id", pa.string())])


class ClickHouseClient(Protocol):
    """What the store needs from a ClickHouse connection."""

    def command(self, sql: str) -> None:
        """Run a statement that returns nothing."""
        ...

    def query_arrow(self, sql: str, incoming: pa.Table | None = None) -> pa.Table:
        """Rows of a query; `{incoming}` in the SQL names the table passed alongside."""
        ...

    def insert_arrow(self, table: str, data: pa.Table, dedup_token: str) -> None:
        """Insert rows; a repeat with the same token is dropped by the server."""
        ...

    def use_database(self, database: str) -> None:
        """Resolve unqualified table names in `database` from now on."""
        ...

    def close(self) -> None:
        """Release the connection or engine."""
        ...


class ClickHouseStore:
    """Events in a ClickHouse database named after the namespace."""

    sql_dialect = "clickhouse"  # read SQL that differs by engine (replay) checks this

    def __init__(
        self, client: ClickHouseClient, database: str = "attribo", cluster: str = ""
    ) -> None:
        """Create the database and tables if they are missing (on every server of `cluster`)."""
        self._client = client
        self._db = database
        self.layout = Layout(database, cluster)
        client.command(self.layout.create_database())
        for statement in (*events_ddl(self.layout), *offsets_ddl(self.layout)):
            client.command(statement)
        for name, definition in DUCKDB_COMPAT_FUNCTIONS:
            client.command(self.layout.create_function(name, definition))
        client.use_database(database)

    @classmethod
    def from_url(cls, url: str, database: str = "attribo", cluster: str = "") -> ClickHouseStore:
        """`chdb:///absolute/path` (in-process) or `http(s)://host:port` (a server).

        `cluster` names a sharded cluster of the server's `remote_servers` (see
        `clickhouse_layout`); it needs a server.
        """
        parts = urlsplit(url)
        client: ClickHouseClient
        layout = Layout(database, cluster)
        if parts.scheme == "chdb":
            if cluster:
                raise ValueError("clickhouse_cluster needs a ClickHouse server (http(s)://…)")
            from attribo.store.clickhouse_chdb import ChdbClient

            client = ChdbClient(parts.path)
        elif parts.scheme in ("http", "https"):
            from attribo.store.clickhouse_http import HttpClient

            client = HttpClient(url, layout.query_settings)
        else:
            raise ValueError(f"clickhouse_url must be chdb:///path or http(s)://…, not {url!r}")
        return cls(client, database, cluster)

    @property
    def client(self) -> ClickHouseClient:
        """The connection, for side tables kept in the same database (costs)."""
        return self._client

    @property
    def database(self) -> str:
        """The database holding this store's tables."""
        return self._db

    def write_events(self, batch: pa.Table, consumer: str, log_offset: int) -> int:
        """Insert the batch's new events, then move the consumer's offset."""
        return self.write_events_at(batch, {consumer: log_offset})

    def write_events_at(self, batch: pa.Table, offsets: Mapping[str, int]) -> int:
        """Insert the batch's new events (one insert), then move every consumer's offset.

        The insert's dedup token names the offsets and the keys, so a retry of the same write
        (after a lost answer) is dropped by the server instead of stored twice.
        """
        fresh = self._new_rows(batch)
        where = ",".join(f"{name}:{offset}" for name, offset in sorted(offsets.items()))
        if fresh.num_rows:
            digest = hashlib.sha256()
            for column in ("app_id", "event_id"):
                for value in fresh.column(column).to_pylist():
                    digest.update(value.encode() + b"\0")
            self._client.insert_arrow(
                f"{self._db}.events", fresh, f"{where}:{digest.hexdigest()[:32]}"
            )
        version = time.time_ns()
        self._client.insert_arrow(
            f"{self._db}.consumer_offsets",
            pa.table(
                {
                    "consumer": pa.array(list(offsets), pa.string()),
                    "log_offset": pa.array(list(offsets.values()), pa.int64()),
                    "version": pa.array([version] * len(offsets), pa.uint64()),
                }
            ),
            f"offset:{where}:{version}",
        )
        return fresh.num_rows

    def _new_rows(self, batch: pa.Table) -> pa.Table:
        """The first received copy of each key not stored yet, in the batch's own order."""
        if not batch.num_rows:
            return batch
        order = pc.sort_indices(batch, [("received_at", "ascending")]).to_pylist()
        apps = batch.column("app_id").to_pylist()
        ids = batch.column("event_id").to_pylist()
        keys = pa.table({"app_id": apps, "event_id": ids}, schema=_KEYS_SCHEMA)
        stored = self._client.query_arrow(
            f"SELECT app_id, event_id FROM {self._db}.events"
            " WHERE app_id IN (SELECT app_id FROM {incoming})"
            " AND (app_id, event_id) IN (SELECT app_id, event_id FROM {incoming})",
            keys,
        )
        seen = set(
            zip(
                stored.column("app_id").to_pylist(),
                stored.column("event_id").to_pylist(),
                strict=True,
            )
        )
        keep: list[int] = []
        for index in order:
            key = (apps[index], ids[index])
            if key not in seen:
                seen.add(key)
                keep.append(index)
        keep.sort()  # back to arrival order
        return batch.take(pa.array(keep, pa.int64()))

    def consumer_offset(self, consumer: str) -> int | None:
        """The newest offset written for `consumer`."""
        table = self._client.query_arrow(
            bind(
                f"SELECT argMax(log_offset, version) AS o, count() AS n"
                f" FROM {self._db}.consumer_offsets WHERE consumer = ?",
                [consumer],
            )
        )
        if not table.num_rows or table.column("n")[0].as_py() == 0:
            return None
        return int(table.column("o")[0].as_py())

    def recent_keys(self, since_ms: int) -> Iterator[tuple[str, str]]:
        """Keys of events received since `since_ms`, oldest first."""
        table = self._client.query_arrow(
            bind(
                f"SELECT app_id, event_id FROM {self._db}.events FINAL"
                " WHERE received_at >= fromUnixTimestamp64Milli(toInt64(?), 'UTC')"
                " ORDER BY received_at",
                [since_ms],
            )
        )
        yield from zip(
            table.column("app_id").to_pylist(), table.column("event_id").to_pylist(), strict=True
        )

    def iter_events(
        self, query: EventQuery, chunk_rows: int = 10_000
    ) -> Iterator[list[dict[str, Any]]]:
        """Raw events of one app, filtered by type and received time, in received order."""
        table = self._events(query)
        for start in range(0, table.num_rows, chunk_rows):
            yield table.slice(start, chunk_rows).to_pylist()

    def iter_records(
        self, query: EventQuery, chunk_rows: int = 50_000
    ) -> Iterator[list[StoredEvent]]:
        """As `iter_events`, as records (turned column by column)."""
        table = self._events(query)
        for start in range(0, table.num_rows, chunk_rows):
            yield records_from_arrow(table.slice(start, chunk_rows))

    def _events(self, query: EventQuery) -> pa.Table:
        """`query`'s events in arrival order, columns named as the fields."""
        where, params = query.where("fromUnixTimestamp64Milli(toInt64(?), 'UTC')")
        return self._client.query_arrow(
            bind(
                f"SELECT {_SELECT_COLUMNS} FROM {self._db}.events FINAL"
                f" WHERE {where} ORDER BY seq, received_at, event_id",
                params,
            )
        ).rename_columns(EVENTS_ARROW_SCHEMA.names)

    def count_events(self, app_id: str | None = None) -> int:
        """Stored events, for one app or all."""
        where = "" if app_id is None else bind(" WHERE app_id = ?", [app_id])
        table = self._client.query_arrow(f"SELECT count() AS n FROM {self._db}.events FINAL{where}")
        return int(table.column("n")[0].as_py())

    def query(self, sql: str, params: list[object]) -> pa.Table:
        """A read-only query with `?` parameters, in ClickHouse SQL, as Arrow.

        Unqualified table names resolve in this store's database.
        """
        return self._client.query_arrow(bind(sql, params))

    def drop(self) -> None:
        """Drop the database and everything in it (test clean-up, namespace teardown)."""
        self._client.command(self.layout.drop_database())

    def close(self) -> None:
        """Release the client."""
        self._client.close()
