"""Recent event ids in Redis, shared by every collector process of a namespace.

Same contract as the embedded `DedupIndex`: `admit` says which ids are new (a repeat inside
one call counts as a repeat), `forget` drops ids whose write failed, ids older than the window
are forgotten. Each id is one key set with `SET NX PX window`: Redis decides "new" atomically
across collectors, and expiry is Redis's TTL, so there is nothing to sweep. Exactly-once
storage does not depend on this (the store de-duplicates on write); it keeps repeats out of the
log and answers `duplicates`. Memory: about 90 bytes a remembered id in Redis.
"""

from __future__ import annotations

from typing import Any

from attribo.hotstate.redis_client import key_part, redis_from_url


class RedisDedup:
    """Per-app event ids seen in the last `window_ms`, as Redis keys with a TTL."""

    def __init__(self, client: Any, namespace: str, window_ms: int) -> None:
        """Use an existing client; keys are `<namespace>:dedup:<app>:<event id>`."""
        if window_ms < 1:
            raise ValueError("window_ms must be at least 1")
        self._redis = client
        self._prefix = f"{namespace}:dedup:"
        self._window_ms = window_ms

    @classmethod
    def from_url(cls, url: str, namespace: str, window_ms: int) -> RedisDedup:
        """Connect to `redis://…`."""
        return cls(redis_from_url(url), namespace, window_ms)

    @property
    def window_ms(self) -> int:
        """How long an id is remembered."""
        return self._window_ms

    def _key(self, app_id: str, event_id: str) -> str:
        return f"{self._prefix}{key_part(app_id)}:{event_id}"

    def admit(self, app_id: str, event_ids: list[str], now_ms: int) -> list[bool]:
        """Remember new ids; True for each id not seen before (also within this call).

        `now_ms` is accepted for the embedded signature; Redis's own clock runs the TTLs.
        """
        if not event_ids:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for event_id in event_ids:
            pipe.set(self._key(app_id, event_id), b"1", nx=True, px=self._window_ms)
        return [bool(result) for result in pipe.execute()]

    def forget(self, app_id: str, event_ids: list[str]) -> None:
        """Drop ids whose write failed, so that a retry is not taken for a repeat."""
        if event_ids:
            self._redis.delete(*(self._key(app_id, e) for e in event_ids))

    def expire(self, now_ms: int) -> None:
        """Nothing to do: Redis expires keys itself."""

    def __len__(self) -> int:
        """How many ids are remembered (a SCAN over the namespace: for /health, not hot paths)."""
        return sum(1 for _ in self._redis.scan_iter(match=f"{self._prefix}*", count=10_000))

    def clear(self) -> None:
        """Forget every id of the namespace (test clean-up, teardown)."""
        keys = list(self._redis.scan_iter(match=f"{self._prefix}*", count=10_000))
        for start in range(0, len(keys), 1000):
            self._redis.delete(*keys[start : start + 1000])
