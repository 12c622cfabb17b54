"""Attributing workers share the stream's partitions through Redis leases.

Two workers (threads here, over one chDB store: chDB belongs to one process; with a
ClickHouse server they are processes on any machines) on the machine's NATS and Redis:
a second worker takes half the partitions from the first, which stores its work before
giving them back; a worker that stops beating without a word loses its partitions to the
other once its leases expire. Every partition has one holder at a time, every event is
stored once, and every install gets the decision one attributor over the whole stream
would have taken, although its app changed workers twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
from cluster_services import NATS_URL, REDIS_URL, drop_namespace, service_missing

from attribo.attribution.live import LiveAttributor
from attribo.events.record import StoredEvent, encode_records
from attribo.log.base import partition_of

pytest.importorskip("chdb", reason="chdb is in the cluster extra")
pytest.importorskip("nats", reason="nats-py is in the cluster extra")

from attribo.hotstate.redis_leases import RedisPartitionLeases
from attribo.log.nats import NatsLog
from attribo.pipeline.attributing_worker import AttributingWorker, consumer_name
from attribo.store.clickhouse import ClickHouseStore

PARTITIONS = 4
APPS = [f"p{i}.app" for i in range(8)]
T0 = 1_700_000_000_000


def _round(n: int) -> list[StoredEvent]:
    """Per app: a click for a new device, and an install of the device clicked a round before."""
    records = []
    for app in APPS:
        records.append(
            StoredEvent(
                app_id=app,
                event_id=f"click-{n}",
                type="click",
                event_time=T0 + n * 60_000,
                received_at=T0 + n * 60_000,
                platform="android",
                gaid=f"device-{n}",
                network=f"net{n % 3}",
                campaign=f"c{n}",
            )
        )
        if n:
            records.append(
                StoredEvent(
                    app_id=app,
                    event_id=f"install-{n - 1}",
                    type="install",
                    event_time=T0 + n * 60_000 + 1000,
                    received_at=T0 + n * 60_000 + 1000,
                    platform="android",
                    gaid=f"device-{n - 1}",
                )
            )
    return records


def _publish(log: NatsLog, records: list[StoredEvent]) -> None:
    async def send() -> None:
        for record in records:
            await log.append(encode_records([record]), record.app_id)

    asyncio.run(send())


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_workers_share_partitions_and_take_over_from_a_dead_one(
    namespace: str, tmp_path: Path
) -> None:
    try:
        log = NatsLog(NATS_URL, namespace, partitions=PARTITIONS, connect_timeout_s=2.0)
    except Exception as exc:
        service_missing(f"NATS not reachable at {NATS_URL}: {exc!r}")
        return
    assert len({partition_of(app, PARTITIONS) for app in APPS}) == PARTITIONS
    store = ClickHouseStore.from_url(f"chdb://{tmp_path / 'ch'}", namespace)
    logs = [log]

    def worker(name: str) -> tuple[AttributingWorker, RedisPartitionLeases]:
        own_log = NatsLog(NATS_URL, namespace, connect_timeout_s=2.0)  # its own consumers
        logs.append(own_log)
        leases = RedisPartitionLeases.from_url(
            REDIS_URL, namespace, PARTITIONS, ttl_ms=1500, worker_id=name
        )
        made = AttributingWorker(
            own_log,
            store,
            LiveAttributor(),
            fraud=None,
            deep_link_of=lambda link_id: None,
            send_answers=lambda answers: None,
            keep_answers=lambda answers: None,
            partitions=leases,
            idle_ms=0,
            refresh_s=0.2,
        )
        return made, leases

    def stored_ids() -> list[tuple[str, str]]:
        rows = store.query("SELECT app_id, event_id FROM events FINAL", []).to_pylist()
        return [(r["app_id"], r["event_id"]) for r in rows]

    sent: list[StoredEvent] = []

    def publish(rounds: range) -> None:
        for n in rounds:
            batch = _round(n)
            sent.extend(batch)
            _publish(log, batch)
        _wait(lambda: len(stored_ids()) >= len(sent), "the workers to store what was sent")

    try:
        a, a_leases = worker("worker-a")
        a.start()
        assert set(a.held) == set(range(PARTITIONS))  # alone: it takes them all
        publish(range(0, 4))

        b, b_leases = worker("worker-b")
        b.start()
        _wait(lambda: len(a.held) == len(b.held) == PARTITIONS // 2, "a fair share each")
        holders = a_leases.holders()
        assert sorted(holders) == list(range(PARTITIONS))
        assert {p for p, w in holders.items() if w == "worker-b"} == set(b.held)
        assert not set(a.held) & set(b.held)
        publish(range(4, 8))  # installs of devices clicked while worker a held their app

        a._stop.set()  # worker a stops beating and renewing, as if killed: no drain, no release
        a._thread.join()
        _wait(lambda: len(b.held) == PARTITIONS, "worker b to take over every partition")
        publish(range(8, 12))
        b.stop(drain=True)
        assert b_leases.holders() == {}  # a clean stop gives its partitions back

        ids = stored_ids()
        assert len(ids) == len(set(ids)) == len(sent), "every event stored exactly once"
        # The decisions of one attributor over the whole stream, in order.
        oracle = LiveAttributor()
        oracle.observe([msgspec.structs.replace(r, seq=i + 1) for i, r in enumerate(sent)])
        got = {
            (r["app_id"], r["event_id"]): (r["network"], r["campaign"], r["touch_event_id"])
            for r in store.query(
                "SELECT app_id, event_id, attributed_network AS network,"
                " attributed_campaign AS campaign, touch_event_id FROM events FINAL"
                " WHERE type = 'install'",
                [],
            ).to_pylist()
        }
        for app in APPS:
            for n in range(11):
                state = oracle.install(app, f"install-{n}")
                assert state is not None and state.touch_event_id == f"click-{n}"
                assert got[(app, f"install-{n}")] == (f"net{n % 3}", f"c{n}", f"click-{n}")
        ends = log.partition_ends()
        for partition in range(PARTITIONS):
            assert store.consumer_offset(consumer_name(partition)) == ends[partition]
    finally:
        store.close()
        for each in logs:
            each.close()
        drop_namespace(namespace)
