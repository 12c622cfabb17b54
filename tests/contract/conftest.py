"""Backend fixtures for the protocol contract tests: one body per protocol, every backend.

A later backend (NATS JetStream log, ClickHouse store) joins by adding its name to the params
and a branch that opens it; the test bodies do not change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from attribo.log.base import Log
from attribo.store.base import Store

LogOpener = Callable[[], Log]
StoreOpener = Callable[[], Store]


@pytest.fixture(params=["local"])
def open_log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LogOpener]:
    """Open (or reopen) one log; every log opened is closed at teardown."""
    opened: list[Log] = []

    def opener() -> Log:
        from attribo.log.local import LocalLog

        # Small segments so the contract also covers reads across segment boundaries.
        log = LocalLog(tmp_path / "log", segment_bytes=4096)
        opened.append(log)
        return log

    yield opener
    for log in opened:
        log.close()


@pytest.fixture(params=["duckdb"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreOpener]:
    """Open (or reopen, after closing the previous) one store."""
    opened: list[Store] = []

    def opener() -> Store:
        from attribo.store.duckdb import DuckDBStore

        for store in opened:
            store.close()
        opened.clear()
        store = DuckDBStore(tmp_path / "events.duckdb")
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()
