"""Log payloads: records survive encode/decode, and parse into columns of `STORED_FIELDS`."""

from __future__ import annotations

import json

import msgspec
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from attribo.events.record import STORED_FIELDS, StoredEvent, decode_records, encode_records
from attribo.store.schema import EVENTS_ARROW_SCHEMA, payloads_to_table, records_to_table

text = st.text(max_size=30)
maybe_text = st.none() | text
ms = st.integers(min_value=0, max_value=4_000_000_000_000)
OPTIONAL_TEXT = [
    name
    for name in STORED_FIELDS[5:]
    if name
    not in (
        "limit_ad_tracking",
        "revenue",
        "signed",
        "properties",
        "seq",
        "retargeting",
        "ctit_ms",
        "reinstall",
        "watermark",
    )
]

records = st.builds(
    StoredEvent,
    app_id=text,
    event_id=text,
    type=st.sampled_from(["click", "impression", "install", "open", "event"]),
    event_time=ms,
    received_at=ms,
    **dict.fromkeys(OPTIONAL_TEXT, maybe_text),
    limit_ad_tracking=st.none() | st.booleans(),
    revenue=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    properties=st.none() | st.dictionaries(text, text | st.integers(), max_size=3).map(json.dumps),
    signed=st.booleans(),
    seq=st.integers(0, 2**62),
    retargeting=st.booleans(),
    ctit_ms=st.none() | st.integers(-(2**40), 2**40),
    reinstall=st.booleans(),
    watermark=st.none() | st.integers(0, 2**50),
)


def table_rows(table: pa.Table) -> list[dict]:
    """Rows of an events table with timestamps as epoch ms, like `StoredEvent`."""
    columns = {}
    for field in table.schema:
        column = table.column(field.name)
        if pa.types.is_timestamp(field.type):
            column = column.cast(pa.int64())
        columns[field.name] = column.to_pylist()
    rows = zip(*columns.values(), strict=True)
    return [dict(zip(columns, values, strict=True)) for values in rows]


def test_payload_is_json_lines_without_empty_fields():
    first = StoredEvent("app", "e1", "open", 1, 2)
    second = StoredEvent("app", "e2", "event", 3, 4, name="buy", revenue=1.5, signed=True)
    lines = encode_records([first, second]).splitlines()
    assert [json.loads(line) for line in lines] == [
        {"app_id": "app", "event_id": "e1", "type": "open", "event_time": 1, "received_at": 2},
        {
            "app_id": "app",
            "event_id": "e2",
            "type": "event",
            "event_time": 3,
            "received_at": 4,
            "name": "buy",
            "revenue": 1.5,
            "signed": True,
        },
    ]


def test_empty_batch_round_trip():
    assert encode_records([]) == b""
    assert decode_records(b"") == []
    table = payloads_to_table([])
    assert table.num_rows == 0 and table.schema == EVENTS_ARROW_SCHEMA


def test_table_columns_follow_stored_fields():
    assert EVENTS_ARROW_SCHEMA.names == list(STORED_FIELDS)
    assert STORED_FIELDS[:5] == ("app_id", "event_id", "type", "event_time", "received_at")


def test_unset_signed_becomes_false_in_the_table():
    table = records_to_table([StoredEvent("a", "e", "open", 1, 2)])
    assert table.column("signed").to_pylist() == [False]
    assert table.column("revenue").to_pylist() == [None]


def test_a_record_much_larger_than_the_rest_parses():
    big = StoredEvent("a", "big", "event", 1, 2, properties=json.dumps({"k": '"' * 600_000}))
    small = encode_records([StoredEvent("a", f"s{i}", "open", 1, 2) for i in range(3)])
    table = payloads_to_table([small, encode_records([big]), small])
    assert table.num_rows == 7
    assert table.column("properties")[3].as_py() == big.properties


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(records, max_size=4), max_size=4))
def test_records_round_trip_through_payloads_and_table(payload_batches):
    payloads = [encode_records(batch) for batch in payload_batches]
    for payload, batch in zip(payloads, payload_batches, strict=True):
        assert decode_records(payload) == batch
        assert payload.count(b"\n") == len(batch)
    everything = [record for batch in payload_batches for record in batch]
    table = payloads_to_table(payloads)
    assert table.schema == EVENTS_ARROW_SCHEMA
    assert table_rows(table) == [msgspec.structs.asdict(r) for r in everything]
