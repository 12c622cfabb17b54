"""Which apps someone is watching live: a Redis sorted set the API renews, workers read.

`<namespace>:live` maps an app id to the time (epoch ms) its interest lapses. `attribo api`
renews the apps it has `/v1/live` watchers for every few seconds; an attributing worker
publishes the live records of those apps only, so an unwatched deployment sends nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from attribo.hotstate.redis_client import redis_from_url


class RedisLiveInterest:
    """The watched apps of one namespace; an app's interest lapses `ttl_ms` after renewal."""

    def __init__(self, client: Any, namespace: str, ttl_ms: int = 10_000) -> None:
        self._redis = client
        self._key = f"{namespace}:live"
        self.ttl_ms = ttl_ms

    @classmethod
    def from_url(cls, url: str, namespace: str, **options: Any) -> RedisLiveInterest:
        """Connect to `redis://…`."""
        return cls(redis_from_url(url), namespace, **options)

    def want(self, app_ids: Iterable[str]) -> None:
        """Renew the interest in `app_ids` and forget what lapsed."""
        now = int(time.time() * 1000)
        apps = {app_id: now + self.ttl_ms for app_id in app_ids}
        pipe = self._redis.pipeline(transaction=False)
        if apps:
            pipe.zadd(self._key, apps)
        pipe.zremrangebyscore(self._key, "-inf", now)
        pipe.execute()

    def wanted(self) -> set[str]:
        """The apps watched now."""
        now = int(time.time() * 1000)
        return {m.decode() for m in self._redis.zrangebyscore(self._key, now, "+inf")}
