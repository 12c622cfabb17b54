"""Fixtures for SKAdNetwork tests: Apple's sample postbacks from the shared datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def skan_dir(datasets_dir: Path) -> Path:
    """The SKAdNetwork vectors directory (skips with the reason when absent)."""
    path = datasets_dir / "skadnetwork"
    if not (path / "expected_results.json").is_file():
        pytest.skip(f"SKAdNetwork vectors not found at {path}")
    return path


@pytest.fixture(scope="session")
def expected(skan_dir: Path) -> dict[str, dict[str, Any]]:
    """expected_results.json: per file, validity, signed fields and signed message."""
    results: dict[str, dict[str, Any]] = json.loads(
        (skan_dir / "expected_results.json").read_text()
    )
    return results
