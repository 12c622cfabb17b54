"""What Redis dedup adds to the contract: ids are durable only once confirmed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cluster_services import service_missing

redis_dedup = pytest.importorskip("attribo.hotstate.redis_dedup")


@pytest.fixture
def dedup(namespace: str, redis_url: str) -> Iterator[redis_dedup.RedisDedup]:
    import redis

    index = redis_dedup.RedisDedup.from_url(redis_url, namespace, 3_600_000)
    try:
        index._redis.ping()
    except redis.RedisError as exc:
        service_missing(f"Redis not reachable at {redis_url}: {exc!r}")
    yield index
    index.clear()
    assert len(index) == 0
    index._redis.close()


def test_an_id_whose_append_never_finished_is_taken_again(dedup) -> None:  # type: ignore[no-untyped-def]
    # A collector admitted the id, then died before the log acknowledged the event.
    assert dedup.admit("a", ["lost-in-flight"], 0) == [True]
    # The client's retry must be stored, not answered as a duplicate.
    assert dedup.admit("a", ["lost-in-flight"], 0) == [True]
    dedup.confirm("a", ["lost-in-flight"])
    assert dedup.admit("a", ["lost-in-flight"], 0) == [False]


def test_ids_expire_with_the_window(dedup) -> None:  # type: ignore[no-untyped-def]
    dedup.admit("a", ["x"], 0)
    dedup.confirm("a", ["x"])
    ttl_ms = dedup._redis.pttl(dedup._key("a", "x"))
    assert 3_500_000 < ttl_ms <= 3_600_000


def test_awaited_calls_keep_the_same_contract(dedup) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    async def main() -> list[list[bool]]:
        first = await dedup.admit_async("a", ["p", "q", "p"], 0)  # a repeat inside the call
        await dedup.confirm_async("a", ["p", "q"])
        again = await dedup.admit_async("a", ["p", "r"], 0)
        await dedup.aclose()
        return [first, again]

    assert asyncio.run(main()) == [[True, True, False], [False, True]]
    # The blocking and the awaited calls share one memory; a second loop gets its own client.
    assert dedup.admit("a", ["q", "r"], 0) == [False, True]

    async def once_more() -> list[bool]:
        try:
            return await dedup.admit_async("a", ["r"], 0)
        finally:
            await dedup.aclose()

    assert asyncio.run(once_more()) == [True]  # r is pending, not durable
    assert len(dedup) == 5  # admitted as new: p, q, then r three times (pending each time)
