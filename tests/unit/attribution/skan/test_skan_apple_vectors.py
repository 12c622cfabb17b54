"""Apple's sample postbacks: schema check, exact signed message, and signature verification."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from attribo.attribution.skan.postback import Postback, decode_postback
from attribo.attribution.skan.verify import signed_fields, signed_message, verify_postback
from attribo.events.validate import FieldError

pytestmark = pytest.mark.dataset

_REPO = Path(__file__).resolve().parents[4]


def _expected_names() -> list[str]:
    """The files expected_results.json lists, read at collection to parametrise over them."""
    root = Path(os.environ.get("ATTRIBO_DATASETS") or _REPO.parent / "shared" / "datasets")
    path = root / "skadnetwork" / "expected_results.json"
    return sorted(json.loads(path.read_text())) if path.is_file() else ["datasets-absent"]


def _postback(skan_dir: Path, name: str) -> Postback:
    result = decode_postback((skan_dir / name).read_bytes())
    assert isinstance(result, Postback), result
    return result


def _edited(skan_dir: Path, name: str, **changes: Any) -> Postback:
    """A sample postback with wire fields changed (None removes one), through the decoder."""
    body = json.loads((skan_dir / name).read_text())
    body.update(changes)
    body = {k: v for k, v in body.items() if v is not None}
    result = decode_postback(json.dumps(body).encode())
    assert isinstance(result, Postback), result
    return result


@pytest.mark.parametrize("name", _expected_names())
def test_vector(skan_dir: Path, expected: dict[str, dict[str, Any]], name: str) -> None:
    """Each file: verified exactly as expected; the signed message is Apple's, byte for byte."""
    case = expected[name]
    decoded = decode_postback((skan_dir / name).read_bytes())
    if "signed_message_utf8" not in case:
        # Schema-invalid: refused by the schema check, so no crypto is ever attempted.
        assert isinstance(decoded, FieldError)
        assert case["expected_valid"] is False
        assert case["reason"].startswith("schema")
        return
    assert isinstance(decoded, Postback), decoded
    assert signed_message(decoded) == case["signed_message_utf8"].encode("utf-8")
    assert [field for field, _ in signed_fields(decoded)] == case["signed_fields_in_order"]
    assert verify_postback(decoded) is case["expected_valid"]


def test_schema_invalid_files_name_the_field(skan_dir: Path) -> None:
    """A missing field and an unknown version are reported by name."""
    missing = decode_postback((skan_dir / "invalid/no-required-params.json").read_bytes())
    future = decode_postback((skan_dir / "invalid/version-from-future.json").read_bytes())
    assert isinstance(missing, FieldError) and missing.field == "app-id"
    assert isinstance(future, FieldError) and future.field == "version"
    assert "5.0" in future.message


def test_every_valid_sample_verifies(skan_dir: Path) -> None:
    """All six of Apple's samples verify (a guard against the parametrisation going empty)."""
    names = sorted(p.name for p in (skan_dir / "valid").glob("*.json"))
    assert len(names) == 6
    assert all(verify_postback(_postback(skan_dir, f"valid/{n}")) for n in names)


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("valid/com.example-4.0.json", {"transaction-id": "6aafb7a5-0170-41b5-bbe4-fe71dedf1e3f"}),
        ("valid/com.example-4.0.json", {"source-identifier": "5238"}),
        ("valid/com.example-4.0.json", {"did-win": False, "conversion-value": None}),
        ("valid/com.example-4.0.json", {"redownload": True}),
        ("valid/com.example-4.0.json", {"source-domain": "example.org"}),
        ("valid/com.example-4.0.json", {"fidelity-type": 0}),
        ("valid/example123-3.0.json", {"campaign-id": 43}),
        ("valid/example123-3.0.json", {"app-id": 525463030}),
        ("valid/com.example-2.1.json", {"source-app-id": 1234567892}),
        ("valid/com.example-2.2.json", {"ad-network-id": "com.example2"}),
    ],
)
def test_tampering_a_signed_field_fails(skan_dir: Path, name: str, changes: dict[str, Any]) -> None:
    """Changing any signed field (transaction-id above all) breaks the signature."""
    assert verify_postback(_edited(skan_dir, name, **changes)) is False


def test_tampered_conversion_values_still_verify(skan_dir: Path) -> None:
    """Apple does not sign conversion values: a changed value verifies (documented limitation).

    This is why decoded revenue from a verified postback is only as trustworthy as the
    network that forwarded it; the test pins the behaviour so nobody mistakes it for a bug.
    """
    fine = _edited(skan_dir, "valid/com.example-4.0.json", **{"conversion-value": 0})
    old_fine = _edited(skan_dir, "valid/example123-3.0.json", **{"conversion-value": 63})
    coarse = _edited(
        skan_dir, "valid/com.example-4.0-coarse.json", **{"coarse-conversion-value": "low"}
    )
    assert fine.conversion_value == 0 and verify_postback(fine)
    assert old_fine.conversion_value == 63 and verify_postback(old_fine)
    assert coarse.coarse_conversion_value == "low" and verify_postback(coarse)
