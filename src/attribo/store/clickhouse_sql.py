"""ClickHouse SQL shared by the in-process (chDB) and server (HTTP) paths: DDL and literals.

Parameters are bound client-side as ClickHouse literals so one `?`-style query string (what
`Store.query` takes) runs unchanged on both clients.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pyarrow as pa

from attribo.store.clickhouse_layout import Layout
from attribo.store.schema import EVENTS_ARROW_SCHEMA, REQUIRED_COLUMNS

_TS = pa.timestamp("ms", tz="UTC")
_TYPES = {
    pa.string(): "String",
    pa.int64(): "Int64",
    pa.float64(): "Float64",
    pa.bool_(): "Bool",
    _TS: "DateTime64(3, 'UTC')",
}
TIME_COLUMNS = frozenset(f.name for f in EVENTS_ARROW_SCHEMA if f.type == _TS)


def column_type(field: pa.Field) -> str:
    """The ClickHouse type of an events column (Nullable unless the schema requires it)."""
    base = _TYPES[field.type]
    return base if field.name in REQUIRED_COLUMNS else f"Nullable({base})"


def events_ddl(layout: Layout) -> list[str]:
    """The events table: one row per (app_id, event_id), the sorting key that enforces it.

    ReplacingMergeTree collapses a copy that two racing writers both inserted (reads use FINAL);
    the writer's anti-join keeps that from happening at all in the normal, partitioned case.
    `non_replicated_deduplication_window` lets a retried insert with the same token be dropped
    on a single server too (ReplicatedMergeTree does this by default).
    """
    columns = ",\n  ".join(f"`{f.name}` {column_type(f)}" for f in EVENTS_ARROW_SCHEMA)
    return layout.create_table(
        "events",
        f"\n  {columns},\n  INDEX received_at_minmax received_at TYPE minmax GRANULARITY 4\n",
        "ReplacingMergeTree",
        "app_id, event_id",
        settings="non_replicated_deduplication_window = 10000",
    )


def offsets_ddl(layout: Layout) -> list[str]:
    """Consumer offsets: the newest row per consumer (by `version`) is the offset."""
    return layout.create_table(
        "consumer_offsets",
        "consumer String, log_offset Int64, version UInt64",
        "ReplacingMergeTree",
        "consumer",
        shard_key="cityHash64(consumer)",
        version="version",
    )


# DuckDB semantics the shared read SQL (replay, exports) relies on, as ClickHouse settings:
# outer joins and grouping-set totals give NULL (not the type's default), CAST(NULL AS DOUBLE)
# is NULL, and an alias never hides a column of the same name in WHERE.
DUCKDB_COMPAT_SETTINGS: dict[str, int] = {
    "join_use_nulls": 1,
    "group_by_use_nulls": 1,
    "cast_keep_nullable": 1,
    "prefer_column_name_to_alias": 1,
}

# DuckDB functions the shared SQL calls, as ClickHouse SQL functions (server-wide, so only
# ones whose meaning is DuckDB's exactly; CREATE … IF NOT EXISTS keeps the first definition).
DUCKDB_COMPAT_FUNCTIONS = (
    ("make_timestamp", "(us) -> fromUnixTimestamp64Micro(toInt64(us), 'UTC')"),
    ("epoch_ms", "(t) -> toUnixTimestamp64Milli(toDateTime64(t, 3, 'UTC'))"),
    # max over booleans skips NULLs like bool_or (an empty input gives false, not NULL).
    ("bool_or", "(b) -> max(b)"),
)


def literal(value: object) -> str:
    """A Python value as a ClickHouse SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot bind {value!r}")
        return repr(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        millis = round(moment.timestamp() * 1000)
        return f"fromUnixTimestamp64Milli(toInt64({millis}), 'UTC')"
    if isinstance(value, date):
        return f"toDate('{value.isoformat()}')"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        return f"'{escaped}'"
    raise TypeError(f"cannot bind a {type(value).__name__}")


def bind(sql: str, params: list[object]) -> str:
    """Replace each `?` outside quotes with the next parameter as a literal."""
    out: list[str] = []
    values = iter(params)
    quote: str | None = None
    i = 0
    while i < len(sql):
        ch = sql[i]
        if quote is not None:
            out.append(ch)
            if ch == "\\" and i + 1 < len(sql):
                out.append(sql[i + 1])
                i += 1
            elif ch == quote:
                quote = None
        elif ch in ("'", '"', "`"):
            quote = ch
            out.append(ch)
        elif ch == "?":
            try:
                out.append(literal(next(values)))
            except StopIteration:
                raise ValueError("fewer parameters than placeholders") from None
        else:
            out.append(ch)
        i += 1
    if next(values, _END) is not _END:
        raise ValueError("more parameters than placeholders")
    return "".join(out)


_END = object()
