"""The cluster worker in-process, on the machine's NATS and Redis and a chDB store.

It attributes the stream in order, answers the sender of an install on its reply subject,
keeps that answer in Redis, makes arrival sequences increase in stream order, and after a
restart resumes where the store stopped with the index rebuilt from the store.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec
import pytest
from cluster_services import NATS_URL, REDIS_URL, drop_namespace, service_missing

from attribo.attribution.live import LiveAttributor
from attribo.events.record import StoredEvent, encode_records
from attribo.log.base import partition_of

pytest.importorskip("chdb", reason="chdb is in the cluster extra")
pytest.importorskip("nats", reason="nats-py is in the cluster extra")

from attribo.api.runtime import WorkerElsewhere
from attribo.hotstate.redis_answers import RedisAnswers
from attribo.log.nats import NatsLog
from attribo.pipeline.attributing_worker import AttributingWorker, consumer_name
from attribo.store.clickhouse import ClickHouseStore

T0 = 1_700_000_000_000


def _record(event_id: str, kind: str, at_s: int, seq: int, **extra: object) -> StoredEvent:
    return StoredEvent(
        app_id="w.app",
        event_id=event_id,
        type=kind,
        event_time=T0 + at_s * 1000,
        received_at=T0 + at_s * 1000,
        platform="ios",
        idfa="IDFA-1",
        seq=seq,
        **extra,  # type: ignore[arg-type]
    )


def _worker(log: NatsLog, store: ClickHouseStore, answers: RedisAnswers) -> AttributingWorker:
    return AttributingWorker(
        log,
        store,
        LiveAttributor(),
        fraud=None,
        deep_link_of=lambda link_id: None,
        send_answers=log.publish_answers,
        keep_answers=answers.put,
        idle_ms=0,
    )


def test_worker_answers_in_order_and_resumes(namespace: str, tmp_path: Path) -> None:
    try:
        log = NatsLog(NATS_URL, namespace, connect_timeout_s=2.0)
    except Exception as exc:
        service_missing(f"NATS not reachable at {NATS_URL}: {exc!r}")
        return
    store = ClickHouseStore.from_url(f"chdb://{tmp_path / 'ch'}", namespace)
    answers = RedisAnswers.from_url(REDIS_URL, namespace, 60_000)
    received: list[bytes] = []
    subject = f"{namespace}.answers.test"
    click = _record("click-1", "click", 0, 500, network="meta", campaign="spring")
    # Sent later but stamped earlier by another collector's clock: stream order wins.
    install = _record("install-1", "install", 60, 400)

    worker = _worker(log, store, answers)
    elsewhere = WorkerElsewhere(log, store)

    async def publish_then_attribute() -> None:
        await log.subscribe_answers(subject, received.append)
        await log.append(encode_records([click]), "w.app")
        await log.append(encode_records([install]), "w.app", reply=subject)
        assert elsewhere.lag_bytes() == 2  # two messages, nothing stored yet
        worker.start()
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    try:
        asyncio.run(publish_then_attribute())
        worker.stop(drain=True)
        assert len(received) == 1
        message = msgspec.json.decode(received[0])
        assert message["event_id"] == "install-1"
        assert message["answer"]["status"] == "attributed"
        assert message["answer"]["touch_event_id"] == "click-1"
        kept = answers.get("w.app", "install-1")
        assert kept is not None and msgspec.json.decode(kept) == message["answer"]
        assert elsewhere.lag_bytes() == 0
        rows = store.query("SELECT event_id, seq FROM events ORDER BY seq", []).to_pylist()
        assert [r["event_id"] for r in rows] == ["click-1", "install-1"]
        assert rows[1]["seq"] == rows[0]["seq"] + 1  # made to follow the click it came after
        partition = partition_of("w.app", log.partitions)
        assert store.consumer_offset(consumer_name(partition)) == log.end_offset()
        # A new worker resumes past what is stored, its index rebuilt from the store.
        again = _worker(log, store, answers)
        assert again.held[partition].offset == log.end_offset()
        state = again.attributor.install("w.app", "install-1")
        assert state is not None and state.touch_event_id == "click-1"
        assert again.step() == 0  # nothing new to take
    finally:
        store.close()
        log.close()
        drop_namespace(namespace)


def test_a_restarted_worker_rebuilds_its_fraud_statistics(namespace: str, tmp_path: Path) -> None:
    """Twenty idle installs from one /24, a new worker taking over from the store, then ten
    more: the 26th and after are blocked, as by a worker that never stopped."""
    from attribo.fraud.gate import FraudGate
    from attribo.fraud.scoring import FraudScorer

    try:
        log = NatsLog(NATS_URL, namespace, connect_timeout_s=2.0)
    except Exception as exc:
        service_missing(f"NATS not reachable at {NATS_URL}: {exc!r}")
        return
    store = ClickHouseStore.from_url(f"chdb://{tmp_path / 'ch'}", namespace)
    answers = RedisAnswers.from_url(REDIS_URL, namespace, 60_000)

    def worker() -> AttributingWorker:
        gate = FraudGate(FraudScorer())
        made = AttributingWorker(
            log,
            store,
            LiveAttributor(),
            fraud=gate,
            deep_link_of=lambda link_id: None,
            send_answers=log.publish_answers,
            keep_answers=answers.put,
            idle_ms=0,
        )
        made.attributor.judge = gate.judge
        return made

    def farm(n: int) -> StoredEvent:
        record = _record(f"farm-{n}", "install", n, n + 1, ip=f"10.66.6.{n}")
        record.idfa = f"farm-{n}"
        return record

    async def publish(rounds: range) -> None:
        for n in rounds:
            await log.append(encode_records([farm(n)]), "w.app")

    try:
        first = worker()
        asyncio.run(publish(range(20)))
        first.start()
        first.stop(drain=True)
        second = worker()
        asyncio.run(publish(range(20, 30)))
        second.start()
        second.stop(drain=True)
        rows = store.query("SELECT event_id, attribution FROM events FINAL ORDER BY seq", [])
        got = {r["event_id"]: r["attribution"] for r in rows.to_pylist()}
        assert [got[f"farm-{n}"] for n in range(30)] == ["organic"] * 25 + ["blocked"] * 5
    finally:
        store.close()
        log.close()
        answers._redis.close()
        drop_namespace(namespace)
