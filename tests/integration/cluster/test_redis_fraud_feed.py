"""The fraud feed on the machine's Redis (one server and a Redis Cluster): what one worker
sends, the others read once, in order; a newcomer reads the retained history."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cluster_services import service_missing

from attribo.events.record import StoredEvent

redis_fraud_feed = pytest.importorskip("attribo.hotstate.redis_fraud_feed")


def _row(n: int) -> StoredEvent:
    return StoredEvent(
        app_id="a", event_id=f"i{n}", type="install", event_time=n, received_at=0, ip="10.0.0.1"
    )


@pytest.fixture
def feeds(namespace: str, redis_url: str) -> Iterator[tuple]:  # type: ignore[type-arg]
    """A first feed, and a maker of more on the same stream (all closed at the end)."""
    import redis

    made: list = []  # type: ignore[type-arg]

    def new(**options: int):  # type: ignore[no-untyped-def]
        feed = redis_fraud_feed.RedisFraudFeed.from_url(redis_url, namespace, **options)
        made.append(feed)
        return feed

    try:
        new()._redis.ping()
    except redis.RedisError as exc:
        service_missing(f"Redis not reachable at {redis_url}: {exc!r}")
    yield made[0], new
    made[0]._redis.delete(made[0]._key)
    for feed in made:
        feed._redis.close()


def test_others_read_each_entry_once_in_order_and_not_their_own(feeds) -> None:  # type: ignore[no-untyped-def]
    a, new = feeds
    b = new()
    a.publish([(0, 10, [_row(1)]), (2, 11, [_row(2), _row(3)])])
    b.publish([(1, 12, [_row(4)])])
    a.publish([])  # nothing to say: no message
    got = b.read()
    assert [(p, o, [r.event_id for r in rows]) for p, o, rows in got] == [
        (0, 10, ["i1"]),
        (2, 11, ["i2", "i3"]),
    ]
    assert got[0][2][0] == _row(1)  # the record comes back as it went
    assert b.read() == []  # read once
    assert [o for _, o, _ in a.read()] == [12]  # a skips what its own process sent
    late = new()  # a worker that starts now reads what the others counted before it
    assert [o for _, o, _ in late.read()] == [10, 11, 12]
    assert a._redis.xlen(a._key) == 2
    a.rewind()  # holding nothing for a while: read it all again, its own messages too
    assert [o for _, o, _ in a.read()] == [10, 11, 12]
    assert a.read() == []


def test_a_long_backlog_is_read_whole_and_the_stream_keeps_about_keep(feeds) -> None:  # type: ignore[no-untyped-def]
    _, new = feeds
    writer = new(keep=1000)
    for n in range(3000):
        writer.publish([(0, n, [_row(n)])])
    length = writer._redis.xlen(writer._key)
    assert 1000 <= length < 3000  # trimmed, approximately, oldest first
    got = new().read()  # more than one XREAD's worth, in one call
    offsets = [o for _, o, _ in got]
    assert len(got) == length and offsets == sorted(offsets) and offsets[-1] == 2999
