"""The events table: one column per `StoredEvent` field, and its Arrow schema."""

from __future__ import annotations

import pyarrow as pa

from attribo.events.record import STORED_FIELDS

_TS = pa.timestamp("ms", tz="UTC")
_SPECIAL: dict[str, pa.DataType] = {
    "event_time": _TS,
    "received_at": _TS,
    "limit_ad_tracking": pa.bool_(),
    "revenue": pa.float64(),
    "signed": pa.bool_(),
}

EVENTS_ARROW_SCHEMA = pa.schema([(name, _SPECIAL.get(name, pa.string())) for name in STORED_FIELDS])

_SQL_TYPES = {
    pa.string(): "VARCHAR",
    _TS: "TIMESTAMPTZ",
    pa.bool_(): "BOOLEAN",
    pa.float64(): "DOUBLE",
}
_NOT_NULL = {"app_id", "event_id", "type", "event_time", "received_at", "signed"}


def events_ddl(table: str = "events") -> str:
    """CREATE TABLE statement for the events table."""
    columns = ",\n  ".join(
        f"{f.name} {_SQL_TYPES[f.type]}{' NOT NULL' if f.name in _NOT_NULL else ''}"
        for f in EVENTS_ARROW_SCHEMA
    )
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {columns}\n)"


def rows_to_table(rows: list[list[object]]) -> pa.Table:
    """Turn log rows (field order of `STORED_FIELDS`) into an Arrow table."""
    if not rows:
        return EVENTS_ARROW_SCHEMA.empty_table()
    columns = list(zip(*rows, strict=True))
    arrays = [
        pa.array(column, type=field.type)
        for column, field in zip(columns, EVENTS_ARROW_SCHEMA, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=EVENTS_ARROW_SCHEMA)
