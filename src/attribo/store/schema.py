"""The events table: one column per `StoredEvent` field, and its Arrow schema."""

from __future__ import annotations

import pyarrow as pa
from pyarrow import compute as pc
from pyarrow import json as pa_json

from attribo.events.record import STORED_FIELDS, StoredEvent, encode_records

_TS = pa.timestamp("ms", tz="UTC")
_SPECIAL: dict[str, pa.DataType] = {
    "event_time": _TS,
    "received_at": _TS,
    "limit_ad_tracking": pa.bool_(),
    "revenue": pa.float64(),
    "signed": pa.bool_(),
    "seq": pa.int64(),
    "retargeting": pa.bool_(),
    "ctit_ms": pa.int64(),
    "reinstall": pa.bool_(),
    "watermark": pa.int64(),
}

EVENTS_ARROW_SCHEMA = pa.schema([(name, _SPECIAL.get(name, pa.string())) for name in STORED_FIELDS])

_SQL_TYPES = {
    pa.int64(): "BIGINT",
    pa.string(): "VARCHAR",
    _TS: "TIMESTAMPTZ",
    pa.bool_(): "BOOLEAN",
    pa.float64(): "DOUBLE",
}
_NOT_NULL = {"app_id", "event_id", "type", "event_time", "received_at", "signed", "seq"}
REQUIRED_COLUMNS = frozenset(_NOT_NULL)  # for other backends' DDL (ClickHouse)
_FALSE_BY_DEFAULT = ("signed", "retargeting", "reinstall")  # left out of the JSON when False


def events_ddl(table: str = "events") -> str:
    """CREATE TABLE statement for the events table."""
    columns = ",\n  ".join(
        f"{f.name} {_SQL_TYPES[f.type]}{' NOT NULL' if f.name in _NOT_NULL else ''}"
        for f in EVENTS_ARROW_SCHEMA
    )
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {columns}\n)"


_JSON_SCHEMA = pa.schema(
    [(f.name, pa.int64() if f.type == _TS else f.type) for f in EVENTS_ARROW_SCHEMA]
)
_PARSE = pa_json.ParseOptions(explicit_schema=_JSON_SCHEMA, unexpected_field_behavior="error")


def payloads_to_table(payloads: list[bytes], use_threads: bool = True) -> pa.Table:
    """Parse log payloads (JSON lines of `StoredEvent`) into an events table."""
    data = b"".join(payloads)
    if not data.strip():
        return EVENTS_ARROW_SCHEMA.empty_table()
    read = pa_json.ReadOptions(use_threads=use_threads, block_size=max(1 << 20, len(data) // 2 + 1))
    table = pa_json.read_json(pa.BufferReader(data), read_options=read, parse_options=_PARSE)
    columns = [table.column(f.name) for f in EVENTS_ARROW_SCHEMA]
    for index, f in enumerate(EVENTS_ARROW_SCHEMA):
        if f.type == _TS:
            columns[index] = columns[index].cast(f.type)
        elif f.name in _FALSE_BY_DEFAULT:
            columns[index] = pc.fill_null(columns[index], False)
        elif f.name == "seq":  # 0 is left out too
            columns[index] = pc.fill_null(columns[index], 0)
    return pa.Table.from_arrays(columns, schema=EVENTS_ARROW_SCHEMA)


# Fields whose default is not None: a NULL stored there reads back as that default.
_NON_NONE_DEFAULTS = {
    name: default
    for name, default in zip(
        reversed(STORED_FIELDS), reversed(StoredEvent.__struct_defaults__), strict=False
    )
    if default is not None
}


def records_from_arrow(batch: pa.Table | pa.RecordBatch) -> list[StoredEvent]:
    """Stored records from rows read back in `EVENTS_ARROW_SCHEMA` order (times in epoch ms).

    Column by column, then one positional constructor call per row: about half the cost
    of a dict per row (restoring the live state after a restart reads every stored touch).
    """
    if tuple(batch.schema.names) != STORED_FIELDS:
        raise ValueError("columns must be the StoredEvent fields, in order")
    columns = []
    for name, column in zip(STORED_FIELDS, batch.columns, strict=True):
        values = column.to_pylist()
        default = _NON_NONE_DEFAULTS.get(name)
        if default is not None and column.null_count:
            values = [default if v is None else v for v in values]
        columns.append(values)
    return [StoredEvent(*row) for row in zip(*columns, strict=True)]


def records_to_table(records: list[StoredEvent]) -> pa.Table:
    """An events table from records (tests and tools; the pipeline uses payloads)."""
    return payloads_to_table([encode_records(records)])
