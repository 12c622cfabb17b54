"""`backends` in the cluster profile: every backend lands in the namespace and only there."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cluster_services import NATS_URL, PG_URL, REDIS_URL, service_missing

from attribo.backends import open_control, open_log, open_store
from attribo.config import load_settings

pytest.importorskip("chdb", reason="chdb is in the cluster extra")


def cluster_settings(namespace: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_settings(
        env={},
        profile="cluster",
        namespace=namespace,
        nats_url=NATS_URL,
        postgres_url=PG_URL,
        redis_url=REDIS_URL,
        data_dir=tmp_path,
    )


def test_each_backend_opens_in_the_namespace(namespace: str, tmp_path: Path) -> None:
    import psycopg

    from attribo.control import postgres
    from attribo.log.nats import NatsLog, stream_name
    from attribo.store.clickhouse import ClickHouseStore

    settings = cluster_settings(namespace, tmp_path)
    try:
        control = open_control(settings)
    except Exception as exc:
        service_missing(f"PostgreSQL not reachable at {PG_URL}: {exc!r}")
    try:
        created = control.create_app("app1", "App one")
        assert control.get_app("app1") is not None
        with psycopg.connect(PG_URL) as conn:
            tables = {
                row[0]
                for row in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                    [namespace],
                )
            }
        assert {"apps", "api_keys", "alembic_version"} <= tables
        # A second deployment in another namespace does not see the first one's apps.
        other = open_control(cluster_settings(namespace + "_b", tmp_path))
        try:
            assert other.get_app("app1") is None
            assert [a.app_id for a in other.list_apps()] == []
        finally:
            other.close()
    finally:
        control.close()
        postgres.drop_schema(PG_URL, namespace)
        postgres.drop_schema(PG_URL, namespace + "_b")
    assert created.ingest_key

    try:
        log = open_log(settings)
    except Exception as exc:
        service_missing(f"NATS not reachable at {NATS_URL}: {exc!r}")
    assert isinstance(log, NatsLog)
    try:
        end = asyncio.run(log.append(b"hello"))
        assert [e.payload for e in log.read(end - 1, 1 << 20)] == [b"hello"]
        assert log._stream == stream_name(namespace)
    finally:
        log.destroy()

    store = open_store(settings)
    assert isinstance(store, ClickHouseStore)
    try:
        assert store.count_events() == 0
        databases = store.query("SELECT name FROM system.databases", []).column(0).to_pylist()
        assert namespace in databases
    finally:
        store.drop()
        store.close()
