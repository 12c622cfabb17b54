"""Partition leases on the machine's Redis: a restarted worker reclaims its own at once, and
two live workers that share an id by mistake do not both work: the older one stands down."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from cluster_services import drop_namespace, service_missing

pytest.importorskip("redis", reason="redis-py is in the cluster extra")

from attribo.hotstate.redis_leases import RedisPartitionLeases


@pytest.fixture
def leases(namespace: str, redis_url: str) -> Iterator:  # type: ignore[type-arg]
    import redis

    made: list[RedisPartitionLeases] = []

    def make(worker_id: str) -> RedisPartitionLeases:
        made.append(
            RedisPartitionLeases.from_url(redis_url, namespace, 4, ttl_ms=1000, worker_id=worker_id)
        )
        return made[-1]

    try:
        make("probe")._redis.ping()
    except redis.RedisError as exc:
        service_missing(f"Redis not reachable at {redis_url}: {exc!r}")
    yield make
    drop_namespace(namespace, redis_url)
    for lease in made:
        lease._redis.close()


def test_a_twin_of_a_live_worker_takes_over_and_the_older_stands_down(leases) -> None:  # type: ignore[no-untyped-def]
    older = leases("worker-a")
    assert older.refresh()[0] == {0, 1, 2, 3}  # alone: every partition
    newer = leases("worker-a")  # the same id in a second live process (a misconfiguration)
    assert newer.refresh()[0] == {0, 1, 2, 3}  # as a restart would: its id holds them
    held, excess = older.refresh()
    assert (held, excess) == (set(), set()) and older.twin
    assert not any(older.holds(p) for p in range(4))  # nothing of it may be stored any more
    assert newer.refresh()[0] == {0, 1, 2, 3} and not newer.twin
    assert older.refresh()[0] == set()  # still standing down while the twin beats
    time.sleep(1.2)  # the newer one dies without a word: its token and leases lapse
    assert older.refresh()[0] == {0, 1, 2, 3} and not older.twin


def test_two_workers_share_the_partitions_fairly(leases) -> None:  # type: ignore[no-untyped-def]
    first, second = leases("worker-a"), leases("worker-b")
    assert len(first.refresh()[0]) == 4
    assert second.refresh()[0] == set()  # all taken; it beats, so the first sees two workers
    held, excess = first.refresh()
    assert len(excess) == 2 and excess <= held  # to give back once their work is stored
    first.release(excess)
    assert second.refresh()[0] == excess
    assert set(first.holders().values()) == {"worker-a", "worker-b"}
