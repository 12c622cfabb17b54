"""Shared fixtures: a real attribo server on 127.0.0.1 with a fresh data directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from attribo.bench.server import ServerProcess

REPO = Path(__file__).resolve().parents[1]

# Servers started by tests inherit these: the suites fire hundreds of admin requests and bad
# keys a second on purpose. The limiter itself is tested with its own budgets in tests/unit/api.
os.environ.setdefault("ATTRIBO_RATE_LIMIT_API_PER_S", "1000000")
os.environ.setdefault("ATTRIBO_RATE_LIMIT_UNKNOWN_PER_S", "1000000")


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """`ATTRIBO_DATASETS`, else ../shared/datasets beside the repo; skip if absent (not in CI)."""
    path = Path(os.environ.get("ATTRIBO_DATASETS") or REPO.parent / "shared" / "datasets")
    if not path.is_dir():
        reason = f"datasets not found at {path} (set ATTRIBO_DATASETS)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh data directory."""
    return tmp_path / "data"


@pytest.fixture
def server(data_dir: Path) -> Iterator[ServerProcess]:
    """A running server on a fresh data directory, stopped cleanly after the test."""
    process = ServerProcess(data_dir).start()
    try:
        yield process
    finally:
        assert process.stop() == 0, "server did not exit cleanly"


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for a module of read-mostly tests."""
    process = ServerProcess(tmp_path_factory.mktemp("shared") / "data").start()
    try:
        yield process
    finally:
        process.stop()
