"""Recent event ids in Redis, shared by every collector process of a namespace.

Same contract as the embedded `DedupIndex`: `admit` says which ids are new (a repeat inside
one call counts as a repeat), `forget` drops ids whose write failed, ids older than the window
are forgotten (Redis TTLs, nothing to sweep). One key per id, in two states: `admit` sets it
*pending*, the collector's `confirm` marks it *durable* once the log has acknowledged the
events. Only durable ids are answered as duplicates: an id left pending by a collector that
died before its append was acknowledged is taken again on retry, so Redis never turns an
unacknowledged event into a lost one. Two copies that race in are both appended; the store
keeps one (exactly-once storage never depended on this memory). About 90 bytes an id.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from attribo.hotstate.redis_client import AsyncRedis, app_tag, redis_from_url

# Per key, 1: new (or pending: not durable yet, so taking it again loses nothing); 0: durable
# repeat. All of a request's ids in one call: one round trip, whatever the batch size.
_ADMIT = """
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, 'p', 'NX', 'PX', ARGV[1]) then out[i] = 1
  elseif redis.call('GET', key) == 'd' then out[i] = 0
  else out[i] = 1 end
end
return out
"""


class RedisDedup:
    """Per-app event ids seen in the last `window_ms`, as Redis keys with a TTL."""

    def __init__(self, client: Any, namespace: str, window_ms: int, url: str | None = None) -> None:
        """Use an existing client; keys are `<namespace>:dedup:{<app>}:<event id>`.

        With `url`, `admit_async` and `confirm_async` await an asyncio client.
        """
        if window_ms < 1:
            raise ValueError("window_ms must be at least 1")
        self._redis = client
        self._prefix = f"{namespace}:dedup:"
        self._window_ms = window_ms
        self._admit = client.register_script(_ADMIT)
        self._async = AsyncRedis(url) if url is not None else None
        self._async_admit: Any = None  # the script on the current async client
        self._admitted: deque[tuple[float, int]] = deque()  # (monotonic s, new ids) for len()
        self._count = 0

    @classmethod
    def from_url(cls, url: str, namespace: str, window_ms: int) -> RedisDedup:
        """Connect to `redis://…`."""
        return cls(redis_from_url(url), namespace, window_ms, url)

    @property
    def window_ms(self) -> int:
        """How long an id is remembered."""
        return self._window_ms

    def _key(self, app_id: str, event_id: str) -> str:
        return f"{self._prefix}{app_tag(app_id)}:{event_id}"  # a request's ids: one slot

    def admit(self, app_id: str, event_ids: list[str], now_ms: int) -> list[bool]:
        """Remember new ids; True for each id not seen durable before (nor earlier in the call).

        `now_ms` is accepted for the embedded signature; Redis's own clock runs the TTLs.
        """
        firsts = _firsts(event_ids)
        if not firsts:
            return []
        keys = [self._key(app_id, event_id) for event_id in firsts]
        answers = self._admit(keys=keys, args=[self._window_ms])  # EVALSHA, loads once
        return self._admitted_ids(event_ids, firsts, answers)

    async def admit_async(self, app_id: str, event_ids: list[str], now_ms: int) -> list[bool]:
        """`admit`, awaiting Redis instead of blocking the event loop."""
        if self._async is None:
            return self.admit(app_id, event_ids, now_ms)
        firsts = _firsts(event_ids)
        if not firsts:
            return []
        client = self._async.client()
        if self._async_admit is None or self._async_admit.registered_client is not client:
            self._async_admit = client.register_script(_ADMIT)
        keys = [self._key(app_id, event_id) for event_id in firsts]
        answers = await self._async_admit(keys=keys, args=[self._window_ms])
        return self._admitted_ids(event_ids, firsts, answers)

    def _admitted_ids(
        self, event_ids: list[str], firsts: dict[str, int], answers: list[Any]
    ) -> list[bool]:
        new = dict(zip(firsts, (bool(r) for r in answers), strict=True))
        added = sum(new.values())
        if added:
            self._admitted.append((time.monotonic(), added))
            self._count += added
        return [new[e] and firsts[e] == i for i, e in enumerate(event_ids)]

    def confirm(self, app_id: str, event_ids: list[str]) -> None:
        """Mark ids durable: from now on a repeat is a duplicate."""
        if not event_ids:
            return
        if len(event_ids) == 1:  # most single events: no pipeline to build
            self._redis.set(self._key(app_id, event_ids[0]), b"d", px=self._window_ms)
            return
        pipe = self._redis.pipeline(transaction=False)
        for event_id in event_ids:
            pipe.set(self._key(app_id, event_id), b"d", px=self._window_ms)
        pipe.execute()

    async def confirm_async(self, app_id: str, event_ids: list[str]) -> None:
        """`confirm`, awaiting Redis instead of blocking the event loop."""
        if self._async is None:
            self.confirm(app_id, event_ids)
            return
        if not event_ids:
            return
        pipe = self._async.client().pipeline(transaction=False)
        for event_id in event_ids:
            pipe.set(self._key(app_id, event_id), b"d", px=self._window_ms)
        await pipe.execute()

    async def aclose(self) -> None:
        """Close the asyncio client of the running loop, if one was made."""
        if self._async is not None:
            await self._async.aclose()

    def forget(self, app_id: str, event_ids: list[str]) -> None:
        """Drop ids whose write failed, so that a retry is not taken for a repeat."""
        if event_ids:
            removed = self._redis.delete(*(self._key(app_id, e) for e in event_ids))
            self._count = max(0, self._count - int(removed))

    def expire(self, now_ms: int) -> None:
        """Nothing to do: Redis expires keys itself."""

    def __len__(self) -> int:
        """New ids this process admitted within the window (for /health: O(1), no Redis call).

        Other processes' ids are not counted; counting Redis keys would cost a SCAN.
        """
        horizon = time.monotonic() - self._window_ms / 1000
        while self._admitted and self._admitted[0][0] < horizon:
            self._count -= self._admitted.popleft()[1]
        return self._count

    def clear(self) -> None:
        """Forget every id of the namespace (test clean-up, teardown)."""
        keys = list(self._redis.scan_iter(match=f"{self._prefix}*", count=10_000))
        for start in range(0, len(keys), 1000):
            self._redis.delete(*keys[start : start + 1000])
        self._admitted.clear()
        self._count = 0


def _firsts(event_ids: list[str]) -> dict[str, int]:
    """Each distinct id and the index of its first occurrence."""
    firsts: dict[str, int] = {}
    for index, event_id in enumerate(event_ids):
        firsts.setdefault(event_id, index)
    return firsts
