"""The shared touchpoint index on the machine's Redis: keys, horizon, repeats, progress."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cluster_services import service_missing

redis_touches = pytest.importorskip("attribo.hotstate.redis_touches")

HORIZON = 10_000


@pytest.fixture
def index(namespace: str, redis_url: str) -> Iterator[redis_touches.RedisTouchIndex]:
    import redis

    made = redis_touches.RedisTouchIndex.from_url(redis_url, namespace, lambda app: HORIZON)
    try:
        made._redis.ping()
    except redis.RedisError as exc:
        service_missing(f"Redis not reachable at {redis_url}: {exc!r}")
    yield made
    made.clear()
    assert made.fetch([("a", "k")]) == {} and made.indexed() == {}
    made._redis.close()


def test_touches_are_found_by_app_and_key_once_each(index) -> None:  # type: ignore[no-untyped-def]
    assert index.add([("a", "ck1", 1000, b"t1"), ("a", "ck1", 1500, b"t2"), ("b", "ck1", 1, b"x")])
    index.add([("a", "ck1", 1000, b"t1")])  # read again after a crash: the same member
    found = index.fetch([("a", "ck1"), ("a", "ck1"), ("a", "nothing"), ("b", "ck1")])
    assert found == {("a", "ck1"): [b"t1", b"t2"], ("b", "ck1"): [b"x"]}
    ttl = index._redis.pttl(index._key("a", "ck1"))
    assert 0 < ttl <= HORIZON


def test_touches_behind_the_horizon_of_their_key_are_trimmed(index) -> None:  # type: ignore[no-untyped-def]
    index.add([("a", "g1", 1000, b"old"), ("a", "g2", 1000, b"other key")])
    index.add([("a", "g1", 1000 + HORIZON, b"edge"), ("a", "g1", 1001 + HORIZON, b"new")])
    found = index.fetch([("a", "g1"), ("a", "g2")])
    assert found[("a", "g1")] == [b"edge", b"new"]  # 'old' fell just behind 'new' - horizon
    assert found[("a", "g2")] == [b"other key"]  # another key keeps its own


def test_progress_only_grows(index) -> None:  # type: ignore[no-untyped-def]
    index.publish_indexed({0: 10, 3: 7})
    index.publish_indexed({0: 4, 1: 2})  # a stale write after a takeover is inert
    assert index.indexed() == {0: 10, 1: 2, 3: 7}
