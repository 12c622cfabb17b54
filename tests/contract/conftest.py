"""Backend fixtures for the protocol contract tests: one body per protocol, every backend.

A backend joins by adding its name to the params and a branch that opens it; the test bodies
do not change. Service-backed backends (NATS, chDB) get a namespace of their own per test.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from attribo.log.base import Log
from attribo.store.base import Store

LogOpener = Callable[[], Log]
StoreOpener = Callable[[], Store]


NATS_URL = os.environ.get("ATTRIBO_TEST_NATS", "nats://127.0.0.1:4222")


def service_missing(reason: str) -> None:
    """Skip locally when a service is down; under CI (`.ci/run` starts them) it is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def unique_namespace() -> str:
    """A namespace of its own for one test, so runs share servers without meeting."""
    return f"t{secrets.token_hex(5)}"


@pytest.fixture(params=["local", "nats"])
def open_log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LogOpener]:
    """Open (or reopen) one log; every log opened is closed at teardown."""
    opened: list[Log] = []
    namespace = unique_namespace()

    def opener() -> Log:
        log: Log
        if request.param == "local":
            from attribo.log.local import LocalLog

            # Small segments so the contract also covers reads across segment boundaries.
            log = LocalLog(tmp_path / "log", segment_bytes=4096)
        else:
            from attribo.log.nats import NatsLog

            try:
                log = NatsLog(NATS_URL, namespace, connect_timeout_s=2.0)
            except Exception as exc:
                service_missing(f"NATS JetStream not reachable at {NATS_URL}: {exc!r}")
        opened.append(log)
        return log

    yield opener
    for log in opened:
        log.close()
    if request.param == "nats" and opened:
        from attribo.log.nats import NatsLog

        NatsLog(NATS_URL, namespace).destroy()


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """chDB allows one store path per process: every ClickHouse test gets a database in it."""
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(params=["duckdb", "clickhouse"])
def open_store(
    request: pytest.FixtureRequest, tmp_path: Path, chdb_path: Path
) -> Iterator[StoreOpener]:
    """Open (or reopen, after closing the previous) one store."""
    opened: list[Store] = []
    database = unique_namespace()

    def opener() -> Store:
        for store in opened:
            store.close()
        opened.clear()
        store: Store
        if request.param == "duckdb":
            from attribo.store.duckdb import DuckDBStore

            store = DuckDBStore(tmp_path / "events.duckdb")
        else:
            pytest.importorskip("chdb", reason="chdb is in the cluster extra")
            from attribo.store.clickhouse import ClickHouseStore

            store = ClickHouseStore.from_url(f"chdb://{chdb_path}", database)
        opened.append(store)
        return store

    yield opener
    if request.param == "clickhouse" and opened:
        opened[0].drop()  # type: ignore[attr-defined]
    for store in opened:
        store.close()


REDIS_URL = os.environ.get("ATTRIBO_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _redis_client():  # type: ignore[no-untyped-def]
    """A Redis client that answers, or a skip (failure under CI) naming the URL."""
    redis = pytest.importorskip("redis", reason="redis-py is in the cluster extra")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2.0)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_missing(f"Redis not reachable at {REDIS_URL}: {exc!r}")
    return client


DedupOpener = Callable[[int], Any]


@pytest.fixture(params=["memory", "redis"])
def open_dedup(request: pytest.FixtureRequest) -> Iterator[DedupOpener]:
    """Open a dedup index with a window in ms; every index of one test shares its state."""
    opened: list[Any] = []
    namespace = unique_namespace()

    def opener(window_ms: int) -> Any:
        if request.param == "memory":
            from attribo.collector.dedup import DedupIndex

            if opened:  # the embedded index lives in one process: share it
                return opened[0]
            index: Any = DedupIndex(window_ms)
        else:
            from attribo.hotstate.redis_dedup import RedisDedup

            index = RedisDedup(_redis_client(), namespace, window_ms)
        opened.append(index)
        return index

    yield opener
    if request.param == "redis" and opened:
        opened[0].clear()


class MemoryBuckets:
    """The embedded rate limiter's buckets (api.ratelimit) behind the shared `take` call."""

    def __init__(self) -> None:
        self._buckets: dict[str, Any] = {}

    def take(self, name: str, rate: float, burst: int) -> int:
        import time

        from attribo.api.ratelimit import _Bucket

        now = time.monotonic()
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = _Bucket(rate, burst, now)
        return bucket.take(now)


@pytest.fixture(params=["memory", "redis"])
def buckets(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Token buckets: the embedded ones, or Redis's shared by every process."""
    if request.param == "memory":
        yield MemoryBuckets()
        return
    from attribo.hotstate.redis_buckets import RedisTokenBuckets

    shared = RedisTokenBuckets(_redis_client(), unique_namespace())
    yield shared
    shared.clear()


@pytest.fixture(params=["duckdb", "clickhouse"])
def cost_sink(request: pytest.FixtureRequest, tmp_path: Path, chdb_path: Path) -> Iterator[Any]:
    """Where cost uploads are kept: beside the DuckDB events, or in ClickHouse."""
    if request.param == "duckdb":
        import duckdb

        from attribo.store.costs import CostSink

        conn = duckdb.connect(str(tmp_path / "costs.duckdb"))
        yield CostSink(conn.cursor())
        conn.close()
        return
    pytest.importorskip("chdb", reason="chdb is in the cluster extra")
    from attribo.store.clickhouse import ClickHouseStore
    from attribo.store.clickhouse_costs import ClickHouseCostSink

    store = ClickHouseStore.from_url(f"chdb://{chdb_path}", unique_namespace())
    yield ClickHouseCostSink(store)
    store.drop()
    store.close()


@pytest.fixture(params=["duckdb", "clickhouse"])
def skan_sink(request: pytest.FixtureRequest, tmp_path: Path, chdb_path: Path) -> Iterator[Any]:
    """Where SKAdNetwork postbacks are kept: beside the DuckDB events, or in ClickHouse."""
    if request.param == "duckdb":
        import duckdb

        from attribo.store.skan import DuckDBPostbackSink

        conn = duckdb.connect(str(tmp_path / "skan.duckdb"))
        yield DuckDBPostbackSink(conn.cursor())
        conn.close()
        return
    pytest.importorskip("chdb", reason="chdb is in the cluster extra")
    from attribo.store.clickhouse import ClickHouseStore
    from attribo.store.clickhouse_skan import ClickHouseSkanSink

    store = ClickHouseStore.from_url(f"chdb://{chdb_path}", unique_namespace())
    yield ClickHouseSkanSink(store)
    store.drop()
    store.close()
