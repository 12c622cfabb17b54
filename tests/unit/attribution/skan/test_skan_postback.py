"""Postback schema: per-version required and forbidden fields, clear field errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from attribo.attribution.skan.postback import Postback, decode_postback
from attribo.events.validate import FieldError

V4: dict[str, Any] = {
    "version": "4.0",
    "ad-network-id": "example123.skadnetwork",
    "source-identifier": "1234",
    "app-id": 525463029,
    "transaction-id": "t-1",
    "redownload": False,
    "source-app-id": 1234567891,
    "fidelity-type": 1,
    "did-win": True,
    "conversion-value": 20,
    "postback-sequence-index": 0,
    "attribution-signature": "MEUCIQ==",
}
V3: dict[str, Any] = {
    "version": "3.0",
    "ad-network-id": "example123.skadnetwork",
    "campaign-id": 42,
    "app-id": 525463029,
    "transaction-id": "t-2",
    "redownload": True,
    "fidelity-type": 1,
    "did-win": True,
    "conversion-value": 20,
    "attribution-signature": "MEUCIQ==",
}


def _decode(base: dict[str, Any], **changes: Any) -> Postback | FieldError:
    body = {**base, **{k.replace("_", "-"): v for k, v in changes.items()}}
    return decode_postback(json.dumps({k: v for k, v in body.items() if v is not None}).encode())


def _error(base: dict[str, Any], **changes: Any) -> FieldError:
    result = _decode(base, **changes)
    assert isinstance(result, FieldError), result
    return result


def test_valid_bodies_decode() -> None:
    """Well-formed 3.0 and 4.0 postbacks decode with their fields."""
    v4, v3 = _decode(V4), _decode(V3)
    assert isinstance(v4, Postback) and isinstance(v3, Postback)
    assert (v4.campaign, v4.sequence_index, v4.won) == ("1234", 0, True)
    assert (v3.campaign, v3.sequence_index, v3.conversion_value) == ("42", 0, 20)


def test_fields_a_forwarder_adds_are_ignored() -> None:
    """Networks may add their own fields when forwarding; they are not Apple's to check."""
    assert isinstance(_decode(V4, **{"network-received-at": 1}), Postback)


@pytest.mark.parametrize(
    ("base", "changes", "field"),
    [
        (V4, {"version": "5.0"}, "version"),
        (V4, {"version": "1.0"}, "version"),
        (V4, {"version": 4.0}, "version"),
        (V4, {"app_id": None}, "app-id"),
        (V4, {"transaction_id": ""}, "transaction-id"),
        (V4, {"attribution_signature": None}, "attribution-signature"),
        (V4, {"conversion_value": 64}, "conversion-value"),
        (V4, {"conversion_value": -1}, "conversion-value"),
        (
            V4,
            {"conversion_value": None, "coarse_conversion_value": "huge"},
            "coarse-conversion-value",
        ),
        (V4, {"postback_sequence_index": 3}, "postback-sequence-index"),
        (V4, {"postback_sequence_index": None}, "postback-sequence-index"),
        (V4, {"source_identifier": None}, "source-identifier"),
        (V4, {"source_identifier": "12345"}, "source-identifier"),
        (V4, {"campaign_id": 7}, "campaign-id"),
        (V4, {"redownload": None}, "redownload"),
        (V4, {"redownload": "false"}, "redownload"),
        (V4, {"did_win": None}, "did-win"),
        (V4, {"fidelity_type": 2}, "fidelity-type"),
        (V4, {"source_domain": "example.com"}, "source-domain"),
        (V4, {"coarse_conversion_value": "high"}, "coarse-conversion-value"),
        (V4, {"postback_sequence_index": 1}, "conversion-value"),
        (V4, {"did_win": False}, "did-win"),
        (V3, {"campaign_id": None}, "campaign-id"),
        (V3, {"campaign_id": 101}, "campaign-id"),
        (V3, {"source_identifier": "12"}, "source-identifier"),
        (V3, {"postback_sequence_index": 0}, "postback-sequence-index"),
        (
            V3,
            {"conversion_value": None, "coarse_conversion_value": "low"},
            "coarse-conversion-value",
        ),
        (V3, {"version": "2.2", "did_win": None, "fidelity_type": None}, "fidelity-type"),
        (V3, {"version": "2.1"}, "fidelity-type"),
    ],
)
def test_errors_name_the_field(base: dict[str, Any], changes: dict[str, Any], field: str) -> None:
    """Every schema error says which wire field is wrong."""
    assert _error(base, **changes).field == field


def test_not_json_and_not_an_object() -> None:
    """Broken bodies are reported against the body."""
    assert _error_body(b"{").field == "body"
    assert _error_body(b"[1]").field == "body"


def _error_body(body: bytes) -> FieldError:
    result = decode_postback(body)
    assert isinstance(result, FieldError)
    return result


def test_later_windows_and_losers() -> None:
    """Sequence 1 and 2 carry coarse values only; a non-winning postback carries none."""
    later = _decode(
        V4, conversion_value=None, coarse_conversion_value="medium", postback_sequence_index=2
    )
    loser = _decode(V4, conversion_value=None, did_win=False)
    assert isinstance(later, Postback) and later.sequence_index == 2
    assert isinstance(loser, Postback) and not loser.won
