"""A ClickHouse server over HTTP (clickhouse-connect), the cluster client of `ClickHouseStore`.

Deliberately thin: every statement comes from `ClickHouseStore`, the same SQL that CI runs on
chDB. The table passed as `incoming` travels with the query as external data in Arrow format.
"""

from __future__ import annotations

import pyarrow as pa

try:
    import clickhouse_connect
    from clickhouse_connect.driver.external import ExternalData
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the ClickHouse server store needs clickhouse-connect: pip install 'attribo[cluster]'"
    ) from exc

from attribo.store.clickhouse_sql import DUCKDB_COMPAT_SETTINGS

_CH_TYPES = {pa.string(): "String", pa.int64(): "Int64"}


class HttpClient:
    """A clickhouse-connect client built from `http(s)://user:password@host:port`."""

    def __init__(self, url: str, settings: dict[str, int | str] | None = None) -> None:
        """Connect (clickhouse-connect pings the server); `settings` go with every query."""
        self._client = clickhouse_connect.get_client(
            dsn=url, settings={**DUCKDB_COMPAT_SETTINGS, **(settings or {})}
        )

    def command(self, sql: str) -> None:
        """Run a statement that returns nothing."""
        self._client.command(sql)

    def query_arrow(self, sql: str, incoming: pa.Table | None = None) -> pa.Table:
        """Rows as Arrow; `{incoming}` names an external table sent with the query."""
        external = None
        if incoming is not None:
            sql = sql.replace("{incoming}", "incoming")
            sink = pa.BufferOutputStream()
            with pa.ipc.new_file(sink, incoming.schema) as writer:
                writer.write_table(incoming)
            structure = [f"{f.name} {_CH_TYPES[f.type]}" for f in incoming.schema]
            external = ExternalData(
                file_name="incoming",
                data=sink.getvalue().to_pybytes(),
                fmt="Arrow",
                structure=structure,
            )
        return self._client.query_arrow(sql, external_data=external)

    def insert_arrow(self, table: str, data: pa.Table, dedup_token: str) -> None:
        """Insert with the deduplication token as a query setting."""
        self._client.insert_arrow(table, data, settings={"insert_deduplication_token": dedup_token})

    def use_database(self, database: str) -> None:
        """Send later queries with `database` as the default."""
        self._client.database = database

    def close(self) -> None:
        """Close the HTTP pool."""
        self._client.close()
