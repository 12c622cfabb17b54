"""Wire protocol v1 decoding: valid events pass, each bad input names the right field."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribo.events.types import Event
from attribo.events.validate import (
    DEFAULT_MAX_FUTURE_MS,
    MIN_EVENT_TIME_MS,
    FieldError,
    decode_batch,
    decode_event,
    event_time_ms,
    is_ip_address,
)

NOW = 1_750_000_000_000  # 2025-06-15T15:06:40Z


def event(**fields) -> dict:
    """A valid install event, with `fields` merged in (a None value removes the field)."""
    body = {"event_id": "e1", "type": "install", "app_id": "app", "timestamp": NOW - 1000}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def encode(value) -> bytes:
    return json.dumps(value).encode()


def error_of(body: dict | bytes, now_ms: int = NOW) -> FieldError:
    raw = body if isinstance(body, bytes) else encode(body)
    result = decode_event(raw, now_ms)
    assert isinstance(result, FieldError), result
    return result


# -- valid events ------------------------------------------------------------------------


def test_epoch_ms_event_decodes():
    result = decode_event(encode(event()), NOW)
    assert isinstance(result, Event)
    assert (result.event_id, result.type, result.app_id) == ("e1", "install", "app")
    assert event_time_ms(result) == NOW - 1000


def test_rfc3339_with_offset_is_converted_to_utc_ms():
    result = decode_event(encode(event(timestamp="2024-03-01T12:00:00.250+02:00")), NOW)
    assert isinstance(result, Event)
    expected = datetime(2024, 3, 1, 10, 0, 0, 250_000, tzinfo=UTC)
    assert event_time_ms(result) == int(expected.timestamp() * 1000)


def test_rfc3339_zulu_is_accepted():
    result = decode_event(encode(event(timestamp="2024-03-01T10:00:00Z")), NOW)
    assert isinstance(result, Event)
    assert event_time_ms(result) == 1_709_287_200_000


def test_full_event_keeps_every_field():
    body = event(
        type="event",
        name="purchase",
        revenue=9.99,
        currency="EUR",
        user_id="u1",
        click_id="ck",
        properties={"sku": "x", "n": [1, 2]},
        device={
            "platform": "ios",
            "idfa": "ABC",
            "ip": "2001:db8::1",
            "limit_ad_tracking": False,
            "locale": "en_US",
        },
    )
    result = decode_event(encode(body), NOW)
    assert isinstance(result, Event)
    assert result.revenue == 9.99 and result.currency == "EUR" and result.name == "purchase"
    assert result.properties == {"sku": "x", "n": [1, 2]}
    assert result.device is not None and result.device.ip == "2001:db8::1"
    assert result.device.limit_ad_tracking is False


def test_click_with_source_decodes():
    body = event(type="click", source={"network": "meta", "campaign": "c", "click_id": "k"})
    result = decode_event(encode(body), NOW)
    assert isinstance(result, Event)
    assert result.source is not None and result.source.network == "meta"


def test_timestamp_bounds_are_inclusive():
    assert isinstance(decode_event(encode(event(timestamp=MIN_EVENT_TIME_MS)), NOW), Event)
    edge = NOW + DEFAULT_MAX_FUTURE_MS
    assert isinstance(decode_event(encode(event(timestamp=edge)), NOW), Event)


def test_event_id_of_64_chars_is_accepted():
    assert isinstance(decode_event(encode(event(event_id="x" * 64)), NOW), Event)


# -- invalid events: each names its field --------------------------------------------------


@pytest.mark.parametrize("body", [b"{", b"", b"not json", b'{"event_id": "e1",}'])
def test_malformed_json_is_a_body_error(body):
    assert error_of(body).field == "body"


def test_non_object_body_is_a_body_error():
    assert error_of(b"[1, 2]").field == "body"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"device": {"ip": 17}}, "device.ip"),
        ({"event_id": 5}, "event_id"),
        ({"timestamp": 1.5e12}, "timestamp"),
        ({"timestamp": True}, "timestamp"),
        ({"device": {"limit_ad_tracking": "yes"}}, "device.limit_ad_tracking"),
        ({"device": "iphone"}, "device"),
        ({"properties": [1]}, "properties"),
        ({"revenue": "9.99"}, "revenue"),
        ({"device": {"platform": "windows"}}, "device.platform"),
    ],
)
def test_wrong_type_names_the_field(fields, field):
    assert error_of(event(**fields)).field == field


@pytest.mark.parametrize("missing", ["event_id", "type", "app_id", "timestamp"])
def test_missing_required_field_is_named(missing):
    body = event()
    del body[missing]
    error = error_of(body)
    assert error.field == missing
    assert "missing" in error.message


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"foo": 1}, "foo"),
        ({"device": {"foo": 1}}, "device.foo"),
        ({"type": "click", "source": {"network": "n", "foo": 1}}, "source.foo"),
    ],
)
def test_unknown_field_is_named(fields, field):
    error = error_of(event(**fields))
    assert error.field == field
    assert "unknown" in error.message


def test_unknown_type_is_rejected():
    assert error_of(event(type="purchase")).field == "type"


@pytest.mark.parametrize("event_id", ["", "x" * 65])
def test_event_id_length_is_checked(event_id):
    assert error_of(event(event_id=event_id)).field == "event_id"


@pytest.mark.parametrize(
    "timestamp",
    [
        MIN_EVENT_TIME_MS - 1,
        0,
        "2009-12-31T23:59:59Z",
        NOW + DEFAULT_MAX_FUTURE_MS + 1,
        "2999-01-01T00:00:00+00:00",
        -1,
        2**70,
    ],
)
def test_timestamp_out_of_range_is_rejected(timestamp):
    assert error_of(event(timestamp=timestamp)).field == "timestamp"


def test_max_future_is_a_parameter():
    body = encode(event(timestamp=NOW + 10_000))
    assert isinstance(decode_event(body, NOW, max_future_ms=10_000), Event)
    result = decode_event(body, NOW, max_future_ms=9_999)
    assert isinstance(result, FieldError) and result.field == "timestamp"


def test_naive_rfc3339_is_rejected():
    error = error_of(event(timestamp="2024-03-01T12:00:00"))
    assert error.field == "timestamp"
    assert "timezone" in error.message


@pytest.mark.parametrize("kind", ["click", "impression"])
def test_click_and_impression_need_a_source(kind):
    assert error_of(event(type=kind)).field == "source"


def test_in_app_event_needs_a_name():
    assert error_of(event(type="event")).field == "name"
    assert error_of(event(type="event", name="")).field == "name"


def test_source_needs_a_network():
    error = error_of(event(type="click", source={"campaign": "c"}))
    assert error.field == "source.network"


@pytest.mark.parametrize("ip", ["999.1.1.1", "localhost", "1.2.3", "::g", ""])
def test_invalid_ip_is_rejected(ip):
    assert error_of(event(device={"ip": ip})).field == "device.ip"


@pytest.mark.parametrize("revenue", ["1e999", "-1e999", "1e13", "-2e12"])
def test_non_finite_or_huge_revenue_is_rejected(revenue):
    # JSON can spell a number that overflows a double (1e999); it must not become inf.
    body = encode(event(type="event", name="purchase", revenue=0)).replace(
        b'"revenue": 0', b'"revenue": ' + revenue.encode()
    )
    assert revenue.encode() in body
    assert error_of(body).field == "revenue"


@pytest.mark.parametrize("currency", ["usd", "US", "USDX", "U$D", ""])
def test_bad_currency_is_rejected(currency):
    assert error_of(event(currency=currency)).field == "currency"


def test_field_error_wire_shape():
    assert FieldError("a.b", "bad").as_dict() == {"field": "a.b", "message": "bad"}
    assert FieldError("x", "bad", 3).as_dict() == {"field": "x", "message": "bad", "index": 3}


# -- batches -------------------------------------------------------------------------------


def batch_of(*events) -> bytes:
    return encode({"events": list(events)})


def test_valid_batch_keeps_every_event_with_its_index():
    body = batch_of(*(event(event_id=f"e{i}") for i in range(5)))
    result = decode_batch(body, NOW)
    assert not isinstance(result, FieldError)
    good, errors = result
    assert errors == []
    assert [(i, e.event_id) for i, e in good] == [(i, f"e{i}") for i in range(5)]


def test_empty_batch_is_valid():
    assert decode_batch(batch_of(), NOW) == ([], [])


def test_batch_keeps_valid_events_and_reports_bad_ones_by_index():
    body = batch_of(
        event(event_id="ok0"),
        event(event_id="bad1", foo=1),
        event(event_id="ok2"),
        event(event_id="bad3", timestamp=0),
        42,
        event(event_id="bad5", device={"ip": 1}),
        event(event_id="ok6", type="event", name="n"),
    )
    result = decode_batch(body, NOW)
    assert not isinstance(result, FieldError)
    good, errors = result
    assert [(i, e.event_id) for i, e in good] == [(0, "ok0"), (2, "ok2"), (6, "ok6")]
    assert [(e.index, e.field) for e in errors] == [
        (1, "foo"),
        (3, "timestamp"),
        (4, "body"),
        (5, "device.ip"),
    ]


def test_batch_semantic_error_only_is_reported_by_index():
    # Every event decodes; one fails a rule the types cannot express.
    body = batch_of(event(event_id="a"), event(event_id="b", type="click"))
    result = decode_batch(body, NOW)
    assert not isinstance(result, FieldError)
    good, errors = result
    assert [e.event_id for _, e in good] == ["a"]
    assert [(e.index, e.field) for e in errors] == [(1, "source")]


def test_batch_of_1000_is_accepted_and_1001_is_an_envelope_error():
    good_body = batch_of(*(event(event_id=str(i)) for i in range(1000)))
    result = decode_batch(good_body, NOW)
    assert not isinstance(result, FieldError) and len(result[0]) == 1000
    too_many = batch_of(*(event(event_id=str(i)) for i in range(1001)))
    error = decode_batch(too_many, NOW)
    assert isinstance(error, FieldError)
    assert error.field == "events" and error.index is None


def test_over_1000_invalid_events_is_still_an_envelope_error():
    error = decode_batch(batch_of(*([1] * 1001)), NOW)
    assert isinstance(error, FieldError) and error.field == "events"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"events": 5}', "events"),
        (b'{"events": {}}', "events"),
        (b"{}", "events"),
        (b'{"events": [], "extra": 1}', "extra"),
        (b"[]", "body"),
        (b"{", "body"),
        (b"", "body"),
    ],
)
def test_bad_envelope_is_one_error(body, field):
    error = decode_batch(body, NOW)
    assert isinstance(error, FieldError)
    assert error.field == field and error.index is None


# -- properties: decoding never raises -----------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)

FIELD_NAMES = [*Event.__struct_fields__, "network", "platform", "ip", "idfa", "foo"]
json_events = st.dictionaries(
    st.sampled_from(FIELD_NAMES),
    json_values
    | st.sampled_from(["click", "install", "event", "2024-01-01T00:00:00Z", NOW])
    | st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=4),
    max_size=8,
)


def check_event_result(result):
    assert isinstance(result, Event | FieldError)
    if isinstance(result, FieldError):
        assert isinstance(result.field, str) and result.field
        assert result.index is None


def check_batch_result(result, n_events: int | None):
    if isinstance(result, FieldError):
        assert result.index is None and result.field
        return
    good, errors = result
    indexes = [i for i, _ in good] + [e.index for e in errors]
    assert all(isinstance(e, Event) for _, e in good)
    assert all(isinstance(e, FieldError) and e.field for e in errors)
    if n_events is not None:
        assert sorted(indexes) == list(range(n_events))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(body):
    check_event_result(decode_event(body, NOW))
    check_batch_result(decode_batch(body, NOW), None)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_arbitrary_json_never_raises(value):
    body = encode(value)
    check_event_result(decode_event(body, NOW))
    check_batch_result(decode_batch(body, NOW), None)
    check_batch_result(decode_batch(encode({"events": value}), NOW), None)


@settings(max_examples=200, deadline=None)
@given(st.lists(json_events | json_values, max_size=6))
def test_batch_agrees_with_decoding_each_event_alone(items):
    singles = [decode_event(encode(item), NOW) for item in items]
    for single in singles:
        check_event_result(single)
    result = decode_batch(encode({"events": items}), NOW)
    check_batch_result(result, len(items))
    assert not isinstance(result, FieldError)
    good, errors = result
    assert [i for i, _ in good] == [i for i, s in enumerate(singles) if isinstance(s, Event)]
    assert [(e.index, e.field) for e in errors] == [
        (i, s.field) for i, s in enumerate(singles) if isinstance(s, FieldError)
    ]


@settings(max_examples=300)
@given(
    st.ip_addresses().map(str)
    | st.text(alphabet="0123456789abcdef.:% ", max_size=45)
    | st.text(max_size=20)
)
def test_ip_check_agrees_with_the_standard_library(text):
    try:
        ipaddress.ip_address(text)
        expected = "%" not in text  # scoped IPv6 (fe80::1%eth0) is not a device address
    except ValueError:
        expected = False
    assert is_ip_address(text) == expected


@pytest.mark.parametrize("value", ["³", "١٢٣", "12³", "٣"])
def test_export_times_refuse_non_ascii_digits(value):
    from attribo.api.export import parse_time
    from attribo.collector.http import HTTPError

    with pytest.raises(HTTPError) as caught:
        parse_time("since", value)
    assert caught.value.status == 400 and caught.value.detail[0].field == "since"
