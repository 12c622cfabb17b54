"""Log payloads: records survive encode/decode, and rows follow `STORED_FIELDS`."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from attribo.events.record import (
    STORED_FIELDS,
    StoredEvent,
    decode_records,
    decode_rows,
    encode_records,
)

text = st.text(max_size=40)
maybe_text = st.none() | text
ms = st.integers(min_value=-(2**62), max_value=2**62)

records = st.builds(
    StoredEvent,
    app_id=text,
    event_id=text,
    type=st.sampled_from(["click", "impression", "install", "open", "event"]),
    event_time=ms,
    received_at=ms,
    **{
        name: maybe_text
        for name in STORED_FIELDS[5:]
        if name not in ("limit_ad_tracking", "revenue", "signed")
    },
    limit_ad_tracking=st.none() | st.booleans(),
    revenue=st.none() | st.floats(allow_nan=False),
    signed=st.booleans(),
)


def test_stored_fields_order_is_the_wire_order():
    assert STORED_FIELDS[:5] == ("app_id", "event_id", "type", "event_time", "received_at")
    assert STORED_FIELDS[-1] == "signed"
    assert len(set(STORED_FIELDS)) == len(STORED_FIELDS)


def test_example_round_trip():
    record = StoredEvent(
        "app", "e1", "event", 1, 2, platform="ios", revenue=1.5, properties='{"a":1}', signed=True
    )
    payload = encode_records([record])
    assert decode_records(payload) == [record]
    (row,) = decode_rows(payload)
    assert dict(zip(STORED_FIELDS, row, strict=True)) == msgspec.structs.asdict(record)


def test_empty_batch_round_trip():
    assert decode_records(encode_records([])) == []
    assert decode_rows(encode_records([])) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(records, max_size=5))
def test_records_round_trip(batch):
    payload = encode_records(batch)
    assert decode_records(payload) == batch
    rows = decode_rows(payload)
    assert rows == [list(msgspec.structs.astuple(r)) for r in batch]
    for row, record in zip(rows, batch, strict=True):
        assert len(row) == len(STORED_FIELDS)
        for name, value in zip(STORED_FIELDS, row, strict=True):
            assert value == getattr(record, name)
            assert type(value) is type(getattr(record, name))
