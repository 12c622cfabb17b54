"""Shared fixtures: a real attribo server on 127.0.0.1 with a fresh data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from attribo.bench.server import ServerProcess


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
