"""Conversion-value schema: loading, checks, and golden decodes of postbacks."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from attribo.attribution.skan.decode import DecodedPostback, decode
from attribo.attribution.skan.postback import Postback
from attribo.attribution.skan.schema import (
    SETTINGS_KEY,
    ConversionSchema,
    load_schema,
    schema_from_settings,
    schema_to_settings,
)
from attribo.events.validate import FieldError

# A hybrid schema as a growth team would set it: bits 5 and 4 flag events, bits 0-3 a
# revenue bucket; coarse values by revenue, with a wider `high` in the last window.
SCHEMA_JSON: dict[str, Any] = {
    "event_bits": {"purchase": 5, "subscribe": 4},
    "fine_ranges": [
        {"min_value": 0, "max_value": 0, "revenue_min": 0, "revenue_max": 0},
        {
            "min_value": 1,
            "max_value": 1,
            "revenue_min": 0.01,
            "revenue_max": 0.99,
            "events": ["tutorial_complete"],
        },
        {"min_value": 2, "max_value": 7, "revenue_min": 1, "revenue_max": 9.99},
        {"min_value": 8, "max_value": 15, "revenue_min": 10, "revenue_max": 49.99},
    ],
    "coarse": {
        "low": {"revenue_min": 0, "revenue_max": 0},
        "medium": {"revenue_min": 0.01, "revenue_max": 9.99, "events": ["tutorial_complete"]},
        "high": {"revenue_min": 10, "revenue_max": 100, "events": ["purchase"]},
    },
    "coarse_by_window": {"2": {"high": {"revenue_min": 50, "revenue_max": 500}}},
}


@pytest.fixture
def schema() -> ConversionSchema:
    loaded = load_schema(SCHEMA_JSON)
    assert isinstance(loaded, ConversionSchema), loaded
    return loaded


def _postback(**changes: Any) -> Postback:
    fields: dict[str, Any] = {
        "version": "4.0",
        "ad_network_id": "v9wttpbfk9.skadnetwork",
        "source_identifier": "5239",
        "app_id": 525463029,
        "transaction_id": "t-1",
        "redownload": False,
        "source_domain": "example.com",
        "fidelity_type": 1,
        "did_win": True,
        "postback_sequence_index": 0,
        "attribution_signature": "x",
    }
    fields.update(changes)
    return Postback(**fields)


def _decode(schema: ConversionSchema, **changes: Any) -> DecodedPostback:
    return decode(_postback(**changes), schema, verified=True)


@pytest.mark.parametrize(
    ("value", "revenue", "events"),
    [
        (0, (0, 0), []),
        (1, (0.01, 0.99), ["tutorial_complete"]),
        (0b100001, (0.01, 0.99), ["tutorial_complete", "purchase"]),
        (0b110011, (1, 9.99), ["subscribe", "purchase"]),
        (0b011000, (10, 49.99), ["subscribe"]),
        (0b100000, (0, 0), ["purchase"]),
        (63, (10, 49.99), ["subscribe", "purchase"]),
    ],
)
def test_fine_values(
    schema: ConversionSchema, value: int, revenue: tuple[float, float], events: list[str]
) -> None:
    """Flag bits name events; the other bits pick a revenue bucket."""
    decoded = _decode(schema, conversion_value=value)
    assert (decoded.revenue_min, decoded.revenue_max) == revenue
    assert decoded.events == events
    assert decoded.install and decoded.conversion_value == value


@pytest.mark.parametrize(
    ("value", "sequence", "revenue", "events"),
    [
        ("low", 0, (0, 0), []),
        ("medium", 1, (0.01, 9.99), ["tutorial_complete"]),
        ("high", 1, (10, 100), ["purchase"]),
        ("high", 2, (50, 500), []),  # the last window's override
        ("medium", 2, (0.01, 9.99), ["tutorial_complete"]),  # not overridden: the default
    ],
)
def test_coarse_values_by_window(
    schema: ConversionSchema,
    value: str,
    sequence: int,
    revenue: tuple[float, float],
    events: list[str],
) -> None:
    """Coarse values map to revenue ranges, per window where the schema says so."""
    decoded = _decode(schema, coarse_conversion_value=value, postback_sequence_index=sequence)
    assert (decoded.revenue_min, decoded.revenue_max) == revenue
    assert decoded.events == events


@pytest.mark.parametrize(
    ("sequence", "window", "install"), [(0, (0, 2), True), (1, (3, 7), False), (2, (8, 35), False)]
)
def test_sequence_windows(
    schema: ConversionSchema, sequence: int, window: tuple[int, int], install: bool
) -> None:
    """Only the first postback credits the install; each index has its window in days."""
    decoded = _decode(schema, postback_sequence_index=sequence, coarse_conversion_value="low")
    assert decoded.sequence_index == sequence
    assert (decoded.window_start_day, decoded.window_end_day) == window
    assert decoded.install is install


def test_redownload_is_an_install_flagged_as_such(schema: ConversionSchema) -> None:
    """A redownload still credits the winning network, flagged so reports can split it."""
    decoded = _decode(schema, redownload=True, conversion_value=1)
    assert decoded.install and decoded.redownload


def test_did_win_false_is_not_an_install(schema: ConversionSchema) -> None:
    """A non-winning network's postback gets no install credit, revenue or events."""
    decoded = _decode(schema, did_win=False)
    assert not decoded.install and not decoded.did_win
    assert (decoded.revenue_min, decoded.revenue_max, decoded.events) == (None, None, [])


def test_golden_record(schema: ConversionSchema) -> None:
    """Every decoded field of one postback, network named from the well-known ids."""
    decoded = _decode(schema, conversion_value=0b100010)
    assert msgspec.structs.asdict(decoded) == {
        "version": "4.0",
        "apple_app_id": 525463029,
        "transaction_id": "t-1",
        "sequence_index": 0,
        "window_start_day": 0,
        "window_end_day": 2,
        "did_win": True,
        "install": True,
        "redownload": False,
        "network_id": "v9wttpbfk9.skadnetwork",
        "network": "Meta",
        "campaign": "5239",
        "source_app_id": None,
        "source_domain": "example.com",
        "fidelity_type": 1,
        "conversion_value": 34,
        "coarse_conversion_value": None,
        "revenue_min": 1.0,
        "revenue_max": 9.99,
        "events": ["purchase"],
        "verified": True,
    }


def test_older_versions(schema: ConversionSchema) -> None:
    """Before 3.0 only the winner got a postback; the campaign is campaign-id; unknown ids stay."""
    decoded = _decode(
        schema,
        version="2.2",
        ad_network_id="unknown.skadnetwork",
        source_identifier=None,
        source_domain=None,
        campaign_id=42,
        did_win=None,
        postback_sequence_index=None,
        conversion_value=8,
    )
    assert decoded.install and decoded.did_win and decoded.campaign == "42"
    assert decoded.network == "unknown.skadnetwork"
    assert (decoded.revenue_min, decoded.revenue_max) == (10, 49.99)


def test_empty_schema_decodes_installs_only() -> None:
    """With no schema configured, installs count and values decode to nothing."""
    decoded = decode(_postback(conversion_value=63), ConversionSchema(), verified=False)
    assert decoded.install and not decoded.verified
    assert (decoded.revenue_min, decoded.revenue_max, decoded.events) == (None, None, [])


def test_verifies_when_not_told() -> None:
    """`decode` checks the signature itself unless the caller already did."""
    assert decode(_postback(), ConversionSchema()).verified is False


def test_settings_round_trip(schema: ConversionSchema) -> None:
    """The schema lives in app settings as plain JSON and loads back equal."""
    settings = {SETTINGS_KEY: schema_to_settings(schema)}
    assert msgspec.json.decode(msgspec.json.encode(settings))[SETTINGS_KEY]["event_bits"]
    assert schema_from_settings(settings) == schema
    assert schema_from_settings({}) == ConversionSchema()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"bogus": 1}, "bogus"),
        ({"event_bits": {"a": 6}}, "event_bits[...]"),
        ({"event_bits": {"a": 5, "b": 5}}, "event_bits.b"),
        ({"fine_ranges": [{"min_value": 0, "max_value": 64}]}, "fine_ranges[0].max_value"),
        ({"fine_ranges": [{"min_value": 5, "max_value": 4}]}, "fine_ranges[0].max_value"),
        (
            {"fine_ranges": [{"min_value": 0, "max_value": 4}, {"min_value": 4, "max_value": 9}]},
            "fine_ranges[1]",
        ),
        (
            {"event_bits": {"a": 5}, "fine_ranges": [{"min_value": 0, "max_value": 40}]},
            "fine_ranges[0]",
        ),
        (
            {"fine_ranges": [{"min_value": 0, "max_value": 1, "revenue_min": -1}]},
            "fine_ranges[0].revenue_min",
        ),
        ({"coarse": {"low": {"revenue_min": 2, "revenue_max": 1}}}, "coarse.low.revenue_max"),
        ({"coarse": {"huge": {}}}, "coarse.huge"),
        ({"coarse_by_window": {"3": {}}}, "coarse_by_window"),
        (
            {"coarse_by_window": {"1": {"high": {"revenue_max": -5}}}},
            "coarse_by_window.1.high.revenue_max",
        ),
    ],
)
def test_schema_errors_name_the_field(data: dict[str, Any], field: str) -> None:
    """A bad schema is refused with the field at fault, so settings can say what to fix."""
    error = load_schema(data)
    assert isinstance(error, FieldError), error
    assert error.field == field
