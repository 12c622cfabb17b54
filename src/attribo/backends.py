"""The one place that picks backends for a profile: embedded (files) or cluster (services).

Cluster backends are imported only when chosen, so the embedded profile never loads
nats-py, redis or chDB.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from attribo.config import Settings
from attribo.control import ControlPlane
from attribo.log.base import Log
from attribo.store.base import Store

if TYPE_CHECKING:
    from attribo.collector.dedup import DedupIndex
    from attribo.hotstate.redis_answers import RedisAnswers
    from attribo.hotstate.redis_buckets import RedisTokenBuckets
    from attribo.hotstate.redis_dedup import RedisDedup
    from attribo.hotstate.redis_fraud_feed import RedisFraudFeed
    from attribo.hotstate.redis_leases import RedisPartitionLeases
    from attribo.hotstate.redis_live import RedisLiveInterest
    from attribo.hotstate.redis_touches import RedisTouchIndex
    from attribo.store.clickhouse_costs import ClickHouseCostSink
    from attribo.store.clickhouse_skan import ClickHouseSkanSink
    from attribo.store.costs import CostSink
    from attribo.store.skan import DuckDBPostbackSink


def open_control(settings: Settings) -> ControlPlane:
    """The control-plane database: SQLite in the data directory, or PostgreSQL (cluster)."""
    if settings.profile == "cluster":
        from attribo.control import postgres

        postgres.ensure_schema(settings.postgres_url, settings.namespace)
        return ControlPlane.from_url(postgres.schema_url(settings.postgres_url, settings.namespace))
    return ControlPlane.open(settings.data_dir / "control.db")


def open_log(settings: Settings) -> Log:
    """The event log: local segment files, or a NATS JetStream stream (cluster)."""
    if settings.profile == "cluster":
        from attribo.log.nats import NatsLog

        return NatsLog(
            settings.nats_url,
            settings.namespace,
            replicas=settings.nats_replicas,
            partitions=settings.partitions,
        )
    from attribo.log.local import LocalLog

    return LocalLog(settings.data_dir / "log", settings.log_segment_bytes, settings.log_fsync)


def open_store(settings: Settings) -> Store:
    """The analytics store: a DuckDB file, or ClickHouse (cluster; chDB or a server)."""
    if settings.profile == "cluster":
        from attribo.store.clickhouse import ClickHouseStore

        url = settings.clickhouse_url or f"chdb://{(settings.data_dir / 'clickhouse').resolve()}"
        return ClickHouseStore.from_url(url, settings.namespace, settings.clickhouse_cluster)
    from attribo.store.duckdb import DuckDBStore

    return DuckDBStore(settings.data_dir / "events.duckdb", settings.store_threads)


def open_skan_sink(
    store: Store, settings: Settings | None = None
) -> DuckDBPostbackSink | ClickHouseSkanSink:
    """Where verified and unverified SKAdNetwork postbacks are kept: beside the events."""
    from attribo.store.clickhouse import ClickHouseStore
    from attribo.store.skan import DuckDBPostbackSink

    if isinstance(store, ClickHouseStore):
        from attribo.store.clickhouse_skan import ClickHouseSkanSink

        return ClickHouseSkanSink(store)
    return DuckDBPostbackSink(_side_cursor(store))


def open_cost_sink(store: Store, settings: Settings | None = None) -> CostSink | ClickHouseCostSink:
    """Daily spend rows, kept beside the events so reports can join them."""
    from attribo.store.clickhouse import ClickHouseStore
    from attribo.store.costs import CostSink

    if isinstance(store, ClickHouseStore):
        from attribo.store.clickhouse_costs import ClickHouseCostSink

        return ClickHouseCostSink(store)
    return CostSink(_side_cursor(store))


def _side_cursor(store: Store) -> Any:
    """A cursor on the DuckDB events file, for side tables kept beside the events."""
    from attribo.store.duckdb import DuckDBStore

    if not isinstance(store, DuckDBStore):
        raise ValueError(f"no side tables for a {type(store).__name__}")
    return store.side_cursor()


def open_dedup(settings: Settings) -> DedupIndex | RedisDedup:
    """Recent event ids: process memory (rebuilt on start), or Redis shared by collectors."""
    window_ms = settings.dedup_window_hours * 3_600_000
    if settings.profile == "cluster":
        from attribo.hotstate.redis_dedup import RedisDedup

        return RedisDedup.from_url(settings.redis_url, settings.namespace, max(1, window_ms))
    from attribo.collector.dedup import DedupIndex

    return DedupIndex(window_ms)


def open_answer_cache(settings: Settings) -> RedisAnswers:
    """The cluster worker's live answers, kept for repeated requests (Redis)."""
    from attribo.hotstate.redis_answers import RedisAnswers

    window_ms = max(1, settings.dedup_window_hours * 3_600_000)
    return RedisAnswers.from_url(settings.redis_url, settings.namespace, window_ms)


def open_live_interest(settings: Settings) -> RedisLiveInterest:
    """The apps watched live through `attribo api`, for the workers to relay (Redis)."""
    from attribo.hotstate.redis_live import RedisLiveInterest

    return RedisLiveInterest.from_url(settings.redis_url, settings.namespace)


def open_shared_touches(
    settings: Settings, horizon_ms: Callable[[str], int]
) -> RedisTouchIndex | None:
    """The touchpoint index workers share when the stream is partitioned by device (Redis);
    None when it is partitioned by app (each worker's own index is then complete)."""
    if settings.partition_by != "device":
        return None
    from attribo.hotstate.redis_touches import RedisTouchIndex

    return RedisTouchIndex.from_url(settings.redis_url, settings.namespace, horizon_ms)


def open_fraud_feed(settings: Settings) -> RedisFraudFeed | None:
    """The feed that lets device-partitioned workers count every device of an app in their
    fraud statistics (Redis); None when the stream is partitioned by app."""
    if settings.partition_by != "device":
        return None
    from attribo.hotstate.redis_fraud_feed import RedisFraudFeed

    return RedisFraudFeed.from_url(settings.redis_url, settings.namespace)


def open_partition_leases(settings: Settings, partitions: int) -> RedisPartitionLeases:
    """Which partitions of the stream this worker attributes (Redis leases, cluster).

    A chDB store lives in the worker's own process, so that worker takes every partition
    (a second one waits for them); with a ClickHouse server, workers share them out.
    """
    import hashlib
    import socket

    from attribo.hotstate.redis_leases import RedisPartitionLeases

    greedy = not settings.clickhouse_url.startswith(("http://", "https://"))
    place = hashlib.sha256(str(settings.data_dir.resolve()).encode()).hexdigest()[:12]
    worker_id = settings.worker_id or f"{socket.gethostname()}:{place}"
    return RedisPartitionLeases.from_url(
        settings.redis_url, settings.namespace, partitions, greedy=greedy, worker_id=worker_id
    )


def open_rate_buckets(settings: Settings) -> RedisTokenBuckets | None:
    """Rate-limit tokens shared by every process (Redis, cluster), or None: per process."""
    if settings.profile != "cluster":
        return None
    from attribo.hotstate.redis_buckets import RedisTokenBuckets

    return RedisTokenBuckets.from_url(settings.redis_url, settings.namespace)


def drop_namespace(settings: Settings) -> None:
    """Delete what a cluster namespace holds on shared servers: stream, schema, keys, database.

    For test runs and benchmarks; chDB files stay in the data directory, which the caller owns.
    """
    import contextlib

    from attribo.control import postgres
    from attribo.hotstate.redis_client import redis_from_url
    from attribo.log.nats import NatsLog

    with contextlib.suppress(Exception):
        NatsLog(settings.nats_url, settings.namespace, connect_timeout_s=2.0).destroy()
    with contextlib.suppress(Exception):
        postgres.drop_schema(settings.postgres_url, settings.namespace)
    with contextlib.suppress(Exception):
        client = redis_from_url(settings.redis_url)
        keys = list(client.scan_iter(match=f"{settings.namespace}:*", count=10_000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
        client.close()
    if settings.clickhouse_url.startswith(("http://", "https://")):
        from attribo.store.clickhouse import ClickHouseStore

        with contextlib.suppress(Exception):
            store = ClickHouseStore.from_url(
                settings.clickhouse_url, settings.namespace, settings.clickhouse_cluster
            )
            store.drop()
            store.close()
