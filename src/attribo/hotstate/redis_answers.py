"""Live answers to installs and opens, kept in Redis so a repeated request gets the first one.

The cluster worker decides an install once, in stream order; a client that retries it (same
`event_id`) reaches any collector, which finds the decision here instead of asking the
worker again. Kept as long as the dedup window, a few hundred bytes an answered request.
"""

from __future__ import annotations

from typing import Any

from attribo.hotstate.redis_client import key_part, redis_from_url


class RedisAnswers:
    """`<namespace>:answer:<app>:<event id>` → the JSON answer, with a TTL."""

    def __init__(self, client: Any, namespace: str, ttl_ms: int) -> None:
        self._redis = client
        self._prefix = f"{namespace}:answer:"
        self._ttl_ms = max(1, ttl_ms)

    @classmethod
    def from_url(cls, url: str, namespace: str, ttl_ms: int) -> RedisAnswers:
        """Connect to `redis://…`."""
        return cls(redis_from_url(url), namespace, ttl_ms)

    def _key(self, app_id: str, event_id: str) -> str:
        return f"{self._prefix}{key_part(app_id)}:{event_id}"

    def put(self, answers: list[tuple[str, str, bytes]]) -> None:
        """Keep (app id, event id, answer JSON) triples, in one round trip."""
        if not answers:
            return
        pipe = self._redis.pipeline(transaction=False)
        for app_id, event_id, payload in answers:
            pipe.set(self._key(app_id, event_id), payload, px=self._ttl_ms)
        pipe.execute()

    def get(self, app_id: str, event_id: str) -> bytes | None:
        """The answer kept for an event, or None if it was never answered (or has expired)."""
        value = self._redis.get(self._key(app_id, event_id))
        return None if value is None else bytes(value)
