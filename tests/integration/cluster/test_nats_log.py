"""What the NATS log adds to the `Log` contract: server-side progress, large payloads."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from cluster_services import NATS_URL, drop_namespace, service_missing

from attribo.log.base import LogFailed

nats_log = pytest.importorskip("attribo.log.nats")


@pytest.fixture
def log(namespace: str) -> Iterator[nats_log.NatsLog]:
    try:
        log = nats_log.NatsLog(NATS_URL, namespace, connect_timeout_s=2.0)
    except Exception as exc:
        service_missing(f"NATS JetStream not reachable at {NATS_URL}: {exc!r}")
    yield log
    log.destroy()


def consumer_info(log: nats_log.NatsLog):  # type: ignore[no-untyped-def]
    return log._call(log._js.consumer_info(log._stream, log._all.consumer))


def test_trim_acknowledges_progress_on_the_durable_consumer(log: nats_log.NatsLog) -> None:
    async def write() -> list[int]:
        return [await log.append(f"p{i}".encode()) for i in range(10)]

    offsets = asyncio.run(write())
    entries = log.read(0, 1 << 20)
    assert [e.payload for e in entries] == [f"p{i}".encode() for i in range(10)]
    assert log.trim(offsets[3]) == 4
    info = consumer_info(log)
    assert info.config.durable_name == log._all.consumer
    assert info.ack_floor.stream_seq == offsets[3]
    assert log.trim(offsets[-1]) == 6
    assert consumer_info(log).ack_floor.stream_seq == offsets[-1]
    # Nothing is deleted by acknowledging: the tail can always be replayed.
    assert log.read(offsets[1], 1 << 20)[0].payload == b"p2"


def test_a_payload_above_the_server_limit_is_split_at_line_ends(log: nats_log.NatsLog) -> None:
    line = b'{"event_id":"%06d","pad":"' + b"x" * 200 + b'"}\n'
    payload = b"".join(line.replace(b"%06d", b"%06d" % i) for i in range(log._max_payload // 150))
    assert len(payload) > log._max_payload
    end = asyncio.run(log.append(payload))
    entries = log.read(0, 64 << 20)
    assert len(entries) >= 2
    assert entries[-1].next_offset == end == log.end_offset()
    assert b"".join(e.payload for e in entries) == payload
    assert all(e.payload.endswith(b"\n") for e in entries)


def test_reopened_log_resumes_sequence_and_reads_behind_a_live_writer(namespace: str) -> None:
    try:
        first = nats_log.NatsLog(NATS_URL, namespace, connect_timeout_s=2.0)
    except Exception as exc:
        service_missing(f"NATS JetStream not reachable at {NATS_URL}: {exc!r}")
    reader = nats_log.NatsLog(NATS_URL, namespace, consumer="other")
    try:
        end = asyncio.run(first.append(b"one"))
        assert [e.payload for e in reader.read(reader.start_offset(), 1 << 20)] == [b"one"]
        end2 = asyncio.run(first.append(b"two"))
        assert end2 == end + 1
        assert [e.payload for e in reader.read(end, 1 << 20)] == [b"two"]
        assert reader.read(end2, 1 << 20) == []
    finally:
        reader.close()
        first.destroy()


def test_reading_recovers_when_the_consumer_disappears(log: nats_log.NatsLog) -> None:
    async def write(n: int) -> int:
        end = 0
        for i in range(n):
            end = await log.append(f"q{i}".encode())
        return end

    end = asyncio.run(write(5))
    assert len(log.read(0, 1 << 20)) == 5
    # As after a server restart with memory storage, or an operator deleting it.
    log._call(log._js.delete_consumer(log._stream, log._all.consumer))
    asyncio.run(log.append(b"after"))
    got: list[bytes] = []
    for _ in range(3):  # the store writer retries failed reads from the same offset
        try:
            got = [e.payload for e in log.read(end, 1 << 20)]
        except Exception:
            continue
        if got:
            break
    assert got == [b"after"]


def test_partitions_keep_each_keys_order_and_are_read_apart(namespace: str) -> None:
    try:
        log = nats_log.NatsLog(NATS_URL, namespace, partitions=4, connect_timeout_s=2.0)
    except Exception as exc:
        service_missing(f"NATS JetStream not reachable at {NATS_URL}: {exc!r}")
        return
    keys = [f"app{i}" for i in range(12)]
    by_partition: dict[int, list[bytes]] = {}
    for key in keys:
        by_partition.setdefault(nats_log.partition_of(key, 4), [])
    assert len(by_partition) > 1, "the keys should spread over partitions"

    async def write() -> None:
        for n in range(5):
            for key in keys:
                payload = f"{key}/{n}".encode()
                await log.append(payload, key)
                by_partition[nats_log.partition_of(key, 4)].append(payload)

    try:
        asyncio.run(write())
        # A reopened stream keeps the count it was made with, whatever is asked now.
        again = nats_log.NatsLog(NATS_URL, namespace, partitions=16, connect_timeout_s=2.0)
        assert again.partitions == 4
        again.close()
        ends = log.partition_ends()
        assert set(ends) == {0, 1, 2, 3}
        assert max(ends.values()) == log.end_offset() == 60
        offsets = dict.fromkeys(by_partition, 0)
        got: dict[int, list[bytes]] = {p: [] for p in by_partition}
        while read := log.read_partitions(offsets, 1 << 20):
            for partition, entries in read.items():
                got[partition] += [e.payload for e in entries]
                offsets[partition] = entries[-1].next_offset
        assert got == by_partition  # each partition alone, in append order
        assert offsets == {p: ends[p] for p in by_partition}
        assert log.read_partitions(offsets, 1 << 20) == {}  # drained: nothing more
        asyncio.run(log.append(b"late", keys[0]))
        late = log.read_partitions(offsets, 1 << 20)
        assert list(late) == [nats_log.partition_of(keys[0], 4)]
        assert [e.payload for e in late[nats_log.partition_of(keys[0], 4)]] == [b"late"]
        assert len(log.read(0, 1 << 20)) == 61  # the whole stream, every partition
    finally:
        log.destroy()


def test_a_stream_from_before_partitions_is_refused_with_what_to_do(namespace: str) -> None:
    """An old single-subject stream would take no publish: opening it says how to move on."""
    import nats
    from nats.js import api

    async def make_old_stream() -> None:
        client = await nats.connect(NATS_URL, connect_timeout=2)
        await client.jetstream().add_stream(
            api.StreamConfig(name=nats_log.stream_name(namespace), subjects=[f"{namespace}.events"])
        )
        await client.close()

    asyncio.run(make_old_stream())
    try:
        with pytest.raises(LogFailed, match=r"predates partitioned subjects.*nats stream rm"):
            nats_log.NatsLog(NATS_URL, namespace, connect_timeout_s=2.0)
    finally:
        drop_namespace(namespace)
