"""One app over two workers: the stream partitioned by app and device, touches shared in Redis.

Collectors route each record by its app and device, so a web click (no device id) and the
install that carries its click id, or that matches its fingerprint, land on different
partitions, held by different workers. Two workers (threads over one chDB store, on the
machine's NATS and Redis) share the partitions; one stops without a word mid-stream and the
other takes its partitions over. Every event is stored once, every decision is the one a
single attributor over the stream in arrival order takes, and a replay of the store agrees.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
import pytest
from cluster_services import NATS_URL, REDIS_URL, drop_namespace, service_missing

from attribo.attribution.live import LiveAttributor, device_partition_key
from attribo.attribution.replay import rebuild_summary
from attribo.attribution.settings import AttributionSettings
from attribo.collector.dedup import DedupIndex
from attribo.collector.ingest import Collector
from attribo.events.record import StoredEvent
from attribo.log.base import partition_of

pytest.importorskip("chdb", reason="chdb is in the cluster extra")
pytest.importorskip("nats", reason="nats-py is in the cluster extra")

from attribo.fraud.gate import FraudGate
from attribo.fraud.scoring import FraudScorer
from attribo.hotstate.redis_fraud_feed import RedisFraudFeed
from attribo.hotstate.redis_leases import RedisPartitionLeases
from attribo.hotstate.redis_touches import RedisTouchIndex
from attribo.log.nats import NatsLog
from attribo.pipeline.attributing_worker import AttributingWorker
from attribo.store.clickhouse import ClickHouseStore

PARTITIONS = 4
APP = "one.big.app"
T0 = 1_700_000_000_000
MINUTE = 60_000


def _event(event_id: str, kind: str, n: int, **fields: object) -> StoredEvent:
    t = T0 + n * MINUTE + (1000 if kind not in ("click", "impression") else 0)
    return StoredEvent(
        app_id=APP,
        event_id=event_id,
        type=kind,
        event_time=t,
        received_at=t,
        platform="android",
        os_version="14",
        **fields,  # type: ignore[arg-type]
    )


def _round(n: int) -> list[StoredEvent]:
    """A web click and a device click; installs matching the previous round's three ways."""
    records = [
        _event(f"web-{n}", "click", n, click_id=f"k-{n}", ip=f"10.1.{n}.1", network="web"),
        _event(f"dclick-{n}", "click", n, gaid=f"dev-{n}", ip="10.9.9.9", network=f"net{n % 3}"),
    ]
    if n:
        m = n - 1
        records += [
            _event(f"cid-install-{m}", "install", n, gaid=f"u-{m}", click_id=f"k-{m}"),
            _event(f"dev-install-{m}", "install", n, gaid=f"dev-{m}", ip="10.8.8.8"),
            _event(f"fp-install-{m}", "install", n, android_id=f"a-{m}", ip=f"10.1.{m}.1"),
            _event(f"buy-{m}", "purchase", n, gaid=f"dev-{m}", revenue=1.5, currency="EUR"),
        ]
    return records


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextmanager
def _services(
    namespace: str, tmp_path: Path, redis_url: str
) -> Iterator[tuple[ClickHouseStore, list[NatsLog], Collector]]:
    """The stream (NATS), a chDB store and a collector routing by app and device; the
    logs list gathers every worker's connection, all closed at the end."""
    try:
        log = NatsLog(NATS_URL, namespace, partitions=PARTITIONS, connect_timeout_s=2.0)
    except Exception as exc:
        service_missing(f"NATS not reachable at {NATS_URL}: {exc!r}")
        raise
    store = ClickHouseStore.from_url(f"chdb://{tmp_path / 'ch'}", namespace)
    logs = [log]
    collector = Collector(log, DedupIndex(3_600_000), attributes=False)
    collector.partition_key = device_partition_key
    try:
        yield store, logs, collector
    finally:
        store.close()
        for each in logs:
            each.close()
        drop_namespace(namespace, redis_url)


def _worker(
    name: str,
    namespace: str,
    store: ClickHouseStore,
    redis_url: str,
    logs: list[NatsLog],
    fraud: FraudGate | None = None,
) -> AttributingWorker:
    """A worker on its own NATS connection, with leases, the shared index and, with a fraud
    gate, the fraud feed."""
    own_log = NatsLog(NATS_URL, namespace, connect_timeout_s=2.0)
    logs.append(own_log)
    attributor = LiveAttributor()
    if fraud is not None:
        attributor.judge = fraud.judge
    return AttributingWorker(
        own_log,
        store,
        attributor,
        fraud=fraud,
        deep_link_of=lambda link_id: None,
        send_answers=lambda answers: None,
        keep_answers=lambda answers: None,
        partitions=RedisPartitionLeases.from_url(
            redis_url, namespace, PARTITIONS, ttl_ms=1500, worker_id=name
        ),
        shared=RedisTouchIndex.from_url(redis_url, namespace, attributor.horizon_ms),
        fraud_feed=RedisFraudFeed.from_url(redis_url, namespace) if fraud else None,
        idle_ms=0,
        refresh_s=0.2,
    )


def test_one_app_over_two_workers_decides_as_one_attributor(
    namespace: str, tmp_path: Path, redis_url: str
) -> None:
    """On one Redis server and on a Redis Cluster (the touches of an app on one shard)."""
    with _services(namespace, tmp_path, redis_url) as (store, logs, collector):
        attributed_by: dict[str, str] = {}
        guard = threading.Lock()

        def worker(name: str) -> tuple[AttributingWorker, RedisPartitionLeases]:
            made = _worker(name, namespace, store, redis_url, logs)

            def note(records: list[StoredEvent]) -> None:
                with guard:
                    attributed_by.update({r.event_id: name for r in records if r.type == "install"})

            made.on_attributed = note
            return made, made.partitions  # type: ignore[return-value]

        def stored() -> list[dict[str, object]]:
            return store.query("SELECT * FROM events FINAL ORDER BY seq", []).to_pylist()

        sent: list[StoredEvent] = []

        def publish(rounds: range) -> None:
            async def send() -> None:
                for n in rounds:
                    batch = _round(n)
                    sent.extend(batch)
                    for record in batch[:-1]:
                        await collector.append(APP, [msgspec.structs.replace(record)])
                    # The round's purchase with the next round's web click: one request, routed
                    # to two partitions in two appends.
                    extra = _round(n + 100)[:1]
                    sent.extend(extra)
                    await collector.append(APP, [msgspec.structs.replace(batch[-1]), *extra])

            asyncio.run(send())
            _wait(lambda: len(stored()) >= len(sent), "the workers to store what was sent")

        a, _ = worker("worker-a")
        a.start()
        publish(range(0, 4))
        b, b_leases = worker("worker-b")
        b.start()
        _wait(lambda: len(a.held) == len(b.held) == PARTITIONS // 2, "a fair share each")
        publish(range(4, 10))
        a._stop.set()  # worker a stops beating and renewing, as if killed: no drain
        a._thread.join()
        publish(range(10, 12))  # waits on a's partitions until b took them over
        _wait(lambda: len(b.held) == PARTITIONS, "worker b to take over every partition")
        publish(range(12, 14))
        # One request, four devices: a touch before an install that carries its click id
        # counts, one after does not, though each pair spans two partitions.
        mixed = [  # web-w2 and web-y share a partition: appends per partition alone would
            # put web-y before y-install
            _event("web-w2", "click", 20, click_id="k-w", network="other"),
            _event("web-x", "click", 20, click_id="k-x", network="early"),
            _event("x-install", "install", 20, gaid="u-x", click_id="k-x"),
            _event("y-install", "install", 20, gaid="u-y", click_id="k-y"),
            _event("web-y", "click", 20, click_id="k-y", network="late"),
        ]
        part_of = {r.event_id: partition_of(device_partition_key(r), PARTITIONS) for r in mixed}
        assert part_of["web-w2"] == part_of["web-y"] != part_of["y-install"]
        assert part_of["web-x"] != part_of["x-install"]
        sent.extend(mixed)
        asyncio.run(collector.append(APP, [msgspec.structs.replace(r) for r in mixed]))
        _wait(lambda: len(stored()) >= len(sent), "the mixed request to be stored")
        b.stop(drain=True)

        rows = stored()
        ids = [r["event_id"] for r in rows]
        assert len(ids) == len(set(ids)) == len(sent), "every event stored exactly once"
        # The stream's order (the stored sequence) through one attributor.
        by_id = {r.event_id: r for r in sent}
        oracle = LiveAttributor()
        ordered = [msgspec.structs.replace(by_id[str(r["event_id"])], seq=r["seq"]) for r in rows]
        oracle.observe(ordered)
        expected = {r.event_id: r for r in ordered}
        installs = [r for r in rows if r["type"] in ("install", "purchase")]
        assert len(installs) == 13 * 4 + 2
        for row in installs:
            want = expected[str(row["event_id"])]
            assert (row["attribution"], row["match_type"], row["touch_event_id"]) == (
                want.attribution,
                want.match_type,
                want.touch_event_id,
            ), row["event_id"]
            assert row["install_event_id"] == want.install_event_id
        matched = {str(r["event_id"]): r["touch_event_id"] for r in rows if r["type"] == "install"}
        assert matched["x-install"] == "web-x" and matched["y-install"] is None
        for m in range(13):
            assert matched[f"cid-install-{m}"] == f"web-{m}"
            assert matched[f"dev-install-{m}"] == f"dclick-{m}"
            assert matched[f"fp-install-{m}"] == f"web-{m}"
        # The point of it: one app over both workers, matches across partitions.
        assert set(attributed_by.values()) == {"worker-a", "worker-b"}
        part = {r.event_id: partition_of(device_partition_key(r), PARTITIONS) for r in sent}
        assert any(part[f"cid-install-{m}"] != part[f"web-{m}"] for m in range(13))
        assert any(part[f"fp-install-{m}"] != part[f"web-{m}"] for m in range(13))
        assert b.waits + a.waits > 0  # some installs did wait for another partition
        _, summary = rebuild_summary(store, AttributionSettings())
        assert summary["installs"] == 41 and summary["changed_vs_live"] == 0
        assert b_leases.holders() == {}


def _farm_round(n: int) -> list[StoredEvent]:
    """A farm device's click and install (from one /24, never used), and a real user's
    install and purchase."""
    click = _event(f"farm-click-{n}", "click", n, gaid=f"farm-{n}", ip="10.5.5.5", network="net")
    click.event_time -= 10 * MINUTE  # not within seconds of the install: no click injection
    return [
        click,
        _event(f"farm-{n}", "install", n, gaid=f"farm-{n}", ip=f"10.66.6.{n}", device_model="m"),
        _event(f"user-{n}", "install", n, gaid=f"user-{n}", ip=f"172.16.{n}.1"),
        _event(f"buy-{n}", "event", n, gaid=f"user-{n}", name="purchase", revenue=2.0),
    ]


def _install_statuses(rows: list[dict[str, object]]) -> dict[str, object]:
    return {str(r["event_id"]): r["attribution"] for r in rows if r["type"] == "install"}


def _one_gate_statuses(rows: list[dict[str, object]], sent: list[StoredEvent]) -> dict:
    """What one attributor with one fraud gate decides over the stored stream, in order."""
    by_id = {r.event_id: r for r in sent}
    oracle, gate = LiveAttributor(), FraudGate(FraudScorer())
    oracle.judge = gate.judge
    for row in rows:  # one record an entry, as the collector appended them
        record = msgspec.structs.replace(by_id[str(row["event_id"])], seq=row["seq"])
        gate.screen([record])
        oracle.observe([record])
        gate.after([record])
        by_id[record.event_id] = record
    return {k: by_id[k].attribution for k in _install_statuses(rows)}


def test_a_device_farm_over_two_workers_is_judged_as_by_one_gate(
    namespace: str, tmp_path: Path, redis_url: str
) -> None:
    """The farm's installs land on every partition; through the fraud feed each worker
    counts all of them, so the verdicts are those of one gate over the stream, also after
    one worker stops without a word and the other takes its partitions over."""
    with _services(namespace, tmp_path, redis_url) as (store, logs, collector):
        sent: list[StoredEvent] = []

        def stored() -> list[dict[str, object]]:
            return store.query("SELECT * FROM events FINAL ORDER BY seq", []).to_pylist()

        def publish(rounds: range) -> None:
            async def send() -> None:
                for n in rounds:
                    for record in _farm_round(n):
                        sent.append(record)
                        await collector.append(APP, [msgspec.structs.replace(record)])

            asyncio.run(send())
            _wait(lambda: len(stored()) >= len(sent), "the workers to store what was sent")

        a = _worker("worker-a", namespace, store, redis_url, logs, FraudGate(FraudScorer()))
        a.start()
        publish(range(0, 8))
        b = _worker("worker-b", namespace, store, redis_url, logs, FraudGate(FraudScorer()))
        b.start()
        _wait(lambda: len(a.held) == len(b.held) == PARTITIONS // 2, "a fair share each")
        publish(range(8, 40))
        a._stop.set()  # as if killed: no drain, its unstored entries are read again by b
        a._thread.join()
        publish(range(40, 60))
        b.stop(drain=True)

        rows = stored()
        assert len({r["event_id"] for r in rows}) == len(rows) == len(sent)
        got = _install_statuses(rows)
        assert got == _one_gate_statuses(rows, sent)
        blocked = sorted(k for k, v in got.items() if v == "blocked")
        assert len(blocked) == 60 - 25 and all(k.startswith("farm-") for k in blocked)
        part = {r.event_id: partition_of(device_partition_key(r), PARTITIONS) for r in sent}
        assert len({part[k] for k in blocked}) == PARTITIONS  # caught on every partition
        assert b.fraud is not None and b.fraud.context(APP).installs == 120  # each once
        # A new worker takes the statistics from the store as it takes the partitions
        # (before reading the feed), passes over the feed's copies of what is stored, and
        # goes on from there: the farm's next install is still caught.
        c = _worker("worker-c", namespace, store, redis_url, logs, FraudGate(FraudScorer()))
        assert c.fraud is not None and len(c.held) == PARTITIONS
        assert c.fraud.context(APP).installs == 120
        c.start()
        publish(range(60, 61))
        c.stop(drain=True)
        last = {str(r["event_id"]): r["attribution"] for r in stored()}
        assert (last["farm-60"], last["user-60"]) == ("blocked", "organic")
        assert c.fraud.context(APP).installs == 122
        assert c.fraud.feed is not None and c.fraud.feed.passed_over > 0
        # A worker that gives up every partition (a twin with its id appeared) and takes
        # them back later starts its statistics afresh from the store and the feed.
        d = _worker("worker-d", namespace, store, redis_url, logs, FraudGate(FraudScorer()))
        d.start()
        publish(range(61, 63))
        twin = _worker("worker-d", namespace, store, redis_url, logs, FraudGate(FraudScorer()))
        twin.start()
        _wait(lambda: not d.held and len(twin.held) == PARTITIONS, "the twin to take over")
        publish(range(63, 65))
        assert d.fraud is not None and d.fraud.feed is not None
        assert d.fraud.feed.waiting == 0  # holding nothing, it gathers nothing
        feed = RedisFraudFeed.from_url(redis_url, namespace)
        feed._redis.xtrim(feed._key, maxlen=0)  # the twin's entries leave the feed's window
        twin.stop(drain=True)
        _wait(lambda: len(d.held) == PARTITIONS, "the first to take its partitions back")
        publish(range(65, 67))
        d.stop(drain=True)
        rows = stored()
        assert _install_statuses(rows) == _one_gate_statuses(rows, sent)
        assert d.fraud.context(APP).installs == 134  # the twin's, from the store


def test_a_waiting_install_holds_back_the_workers_later_entries(
    namespace: str, tmp_path: Path
) -> None:
    """An install that waits for another worker's partitions keeps this worker's later
    entries, on its other partitions too, waiting behind it: each worker attributes (and
    counts for fraud) its records in stream order, as one attributor over the stream would."""
    with _services(namespace, tmp_path, REDIS_URL) as (store, logs, collector):
        order: list[str] = []
        gate = FraudGate(FraudScorer())
        a = _worker("worker-a", namespace, store, REDIS_URL, logs, gate)  # stepped by hand
        b = _worker("worker-b", namespace, store, REDIS_URL, logs, FraudGate(FraudScorer()))
        a.on_attributed = lambda records: order.extend(r.event_id for r in records)

        def both_step() -> bool:
            a.step(), b.step()
            return len(a.held) == len(b.held) == PARTITIONS // 2

        _wait(both_step, "a fair share each")
        by_partition: dict[int, StoredEvent] = {}
        for n in range(200):  # a device on each of worker a's partitions
            probe = _event(f"probe-{n}", "install", 1, gaid=f"dev-{n}", ip="10.2.2.2")
            by_partition.setdefault(partition_of(device_partition_key(probe), PARTITIONS), probe)
        first, second = sorted(a.held)
        install = msgspec.structs.replace(by_partition[first], event_id="waits")
        click = msgspec.structs.replace(
            by_partition[second], event_id="after", type="click", network="net"
        )
        both_step()  # each says how far it is; b's partitions are indexed to here
        asyncio.run(collector.append(APP, [msgspec.structs.replace(install)]))
        asyncio.run(collector.append(APP, [msgspec.structs.replace(click)]))
        _wait(lambda: bool(a.step() or a.held[first].backlog), "worker a to read both")
        assert a.waits > 0 and order == []  # the click, later in the stream, waits too
        _wait(lambda: both_step() and len(order) == 2, "both to be attributed")
        assert order == ["waits", "after"]
        assert gate.context(APP).installs == 1
        a.stop(drain=True)
        b.stop(drain=True)
        rows = store.query("SELECT event_id, seq FROM events ORDER BY seq", []).to_pylist()
        assert [r["event_id"] for r in rows] == ["waits", "after"]
