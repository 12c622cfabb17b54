"""Signed-message construction for shapes the samples lack, and a verifier that never raises."""

from __future__ import annotations

import pytest

from attribo.attribution.skan.postback import Postback
from attribo.attribution.skan.verify import SEPARATOR, signed_message, verify_postback


def _v4(**changes: object) -> Postback:
    fields: dict[str, object] = {
        "version": "4.0",
        "ad_network_id": "net.skadnetwork",
        "source_identifier": "12",
        "app_id": 1,
        "transaction_id": "t",
        "redownload": True,
        "fidelity_type": 0,
        "did_win": False,
        "postback_sequence_index": 2,
        "attribution_signature": "MEUCIQ==",
    }
    fields.update(changes)
    return Postback(**fields)  # type: ignore[arg-type]


def test_v4_with_source_app_id() -> None:
    """4.0 signs source-app-id in place of source-domain when Apple sent the app."""
    message = signed_message(_v4(source_app_id=99))
    assert message.decode().split(SEPARATOR) == [
        "4.0",
        "net.skadnetwork",
        "12",
        "1",
        "t",
        "true",
        "99",
        "0",
        "false",
        "2",
    ]


def test_v4_without_source() -> None:
    """With neither source-app-id nor source-domain (low crowd anonymity) neither is signed."""
    parts = signed_message(_v4()).decode().split(SEPARATOR)
    assert parts == ["4.0", "net.skadnetwork", "12", "1", "t", "true", "0", "false", "2"]


def test_unsigned_fields_do_not_enter_the_message() -> None:
    """Conversion values are not signed by Apple, so they cannot change the message."""
    assert signed_message(_v4(conversion_value=5)) == signed_message(_v4(conversion_value=60))
    plain, coarse = _v4(), _v4(coarse_conversion_value="high")
    assert signed_message(plain) == signed_message(coarse)


@pytest.mark.parametrize(
    "signature",
    ["", "not base64!", "AAAA", "MEUCIQ==", "=" * 8, "\u2063", "A" * 1000],
)
def test_garbage_signatures_are_false_not_errors(signature: str) -> None:
    """Bad input yields False, never an exception."""
    assert verify_postback(_v4(attribution_signature=signature)) is False


def test_unknown_version_is_false() -> None:
    """A version without a known Apple key cannot verify."""
    assert verify_postback(_v4(version="9.9")) is False
