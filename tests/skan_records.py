"""SKAN postbacks in stored form for the sink tests (imported as `skan_records`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from attribo.attribution.skan.decode import PostbackRecord, decode, to_record
from attribo.attribution.skan.postback import Postback
from attribo.attribution.skan.schema import ConversionSchema, load_schema

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
SCHEMA = load_schema(
    {
        "event_bits": {"purchase": 5},
        "fine_ranges": [{"min_value": 1, "max_value": 31, "revenue_min": 1, "revenue_max": 5}],
        "coarse": {"high": {"revenue_min": 10, "revenue_max": 20, "events": ["whale"]}},
    }
)
assert isinstance(SCHEMA, ConversionSchema)


def record(
    transaction_id: str = "t-1",
    *,
    app_id: str = "app1",
    verified: bool = True,
    received_at: datetime = T0,
    **changes: Any,
) -> PostbackRecord:
    """A version 4.0 postback decoded with `SCHEMA`, its verification stated; `changes`
    replace its fields."""
    fields: dict[str, Any] = {
        "version": "4.0",
        "ad_network_id": "v9wttpbfk9.skadnetwork",
        "source_identifier": "12",
        "app_id": 525463029,
        "transaction_id": transaction_id,
        "redownload": False,
        "fidelity_type": 1,
        "did_win": True,
        "postback_sequence_index": 0,
        "attribution_signature": "x",
    } | changes
    decoded = decode(Postback(**fields), SCHEMA, verified=verified)
    return to_record(decoded, app_id, received_at, b'{"raw": true}')
