"""The one place that picks backends for a profile: embedded (files) or cluster (services).

Cluster backends are imported only when chosen, so the embedded profile never loads
nats-py, redis or chDB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from attribo.config import Settings
from attribo.control import ControlPlane
from attribo.log.base import Log
from attribo.store.base import Store

if TYPE_CHECKING:
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

        return NatsLog(settings.nats_url, settings.namespace, replicas=settings.nats_replicas)
    from attribo.log.local import LocalLog

    return LocalLog(settings.data_dir / "log", settings.log_segment_bytes, settings.log_fsync)


def open_store(settings: Settings) -> Store:
    """The analytics store: a DuckDB file, or ClickHouse (cluster; chDB or a server)."""
    if settings.profile == "cluster":
        from attribo.store.clickhouse import ClickHouseStore

        url = settings.clickhouse_url or f"chdb://{(settings.data_dir / 'clickhouse').resolve()}"
        return ClickHouseStore.from_url(url, settings.namespace)
    from attribo.store.duckdb import DuckDBStore

    return DuckDBStore(settings.data_dir / "events.duckdb", settings.store_threads)


def open_skan_sink(store: Store) -> DuckDBPostbackSink:
    """Where verified and unverified SKAdNetwork postbacks are kept: beside the events."""
    from attribo.store.duckdb import DuckDBStore
    from attribo.store.skan import DuckDBPostbackSink

    if not isinstance(store, DuckDBStore):
        raise ValueError("SKAdNetwork postbacks need the embedded store for now")
    return DuckDBPostbackSink(store.side_cursor())


def open_cost_sink(store: Store) -> CostSink:
    """Daily spend rows, kept beside the events so reports can join them."""
    from attribo.store.costs import CostSink
    from attribo.store.duckdb import DuckDBStore

    if not isinstance(store, DuckDBStore):
        raise ValueError("cost ingestion needs the embedded store for now")
    return CostSink(store.side_cursor())
