"""The shared live touchpoint index of device-partitioned workers, and how far each reached.

When the stream is partitioned by app and device, a click and the install it should win can
land on different partitions, so on different workers (a click id or a fingerprint says
nothing about the device). Every worker writes the touches it reads here, and reads the
touches an install could match from here, beside its own.

- `<ns>:touch:<app>:<key>`: a sorted set of one match key's touches (packed, as the
  attribution layer gives them), scored by event time. Adding trims what fell behind the
  horizon from that key and renews its expiry, so memory is bounded as in one process. A
  touch added twice (a partition read again after a crash) is one member: the same bytes.
- `<ns>:indexed`: a hash of partition → offset: every entry of the partition up to that
  stream offset has its touches here. An install at offset `o` is decided once every other
  partition reached `o`, so it sees exactly the touches that arrived before it, whichever
  worker read them. Offsets only grow (a Lua max), so a late write of a stale value is inert.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from attribo.hotstate.redis_client import key_part, redis_from_url

# Raise each field to the given value if higher; ARGV holds field, value pairs.
_RAISE = """
for i = 1, #ARGV, 2 do
  local now = tonumber(redis.call('hget', KEYS[1], ARGV[i]) or '-1')
  if tonumber(ARGV[i + 1]) > now then redis.call('hset', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 1
"""


class RedisTouchIndex:
    """Touches by (app, match key) shared by all workers; see the module docstring."""

    def __init__(self, client: Any, namespace: str, horizon_ms: Callable[[str], int]) -> None:
        """`horizon_ms(app_id)`: how long the app's touches can stay candidates (its longest
        window and the allowed lateness), in event time and, for the key's expiry, in time."""
        self._redis = client
        self._prefix = f"{namespace}:touch:"
        self._indexed = f"{namespace}:indexed"
        self._horizon_ms = horizon_ms
        self._raise = client.register_script(_RAISE)

    @classmethod
    def from_url(
        cls, url: str, namespace: str, horizon_ms: Callable[[str], int]
    ) -> RedisTouchIndex:
        """Connect to `url` (`redis://host:port/db`)."""
        return cls(redis_from_url(url), namespace, horizon_ms)

    def _key(self, app_id: str, key: str) -> str:
        return f"{self._prefix}{key_part(app_id)}{key}"

    def add(self, touches: Iterable[tuple[str, str, int, bytes]]) -> int:
        """Index (app id, match key, event time, packed touch) rows in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        newest: dict[str, tuple[int, int]] = {}  # key: newest event time, the app's horizon
        horizons: dict[str, int] = {}
        count = 0
        for app_id, key, event_time, packed in touches:
            name = self._key(app_id, key)
            pipe.zadd(name, {packed: event_time})
            horizon = horizons.get(app_id)
            if horizon is None:
                horizon = horizons[app_id] = self._horizon_ms(app_id)
            seen = newest.get(name)
            newest[name] = (event_time if seen is None else max(seen[0], event_time), horizon)
            count += 1
        for name, (event_time, horizon) in newest.items():
            pipe.zremrangebyscore(name, "-inf", f"({event_time - horizon}")
            pipe.pexpire(name, horizon)
        if count:
            pipe.execute()
        return count

    def fetch(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[bytes]]:
        """The packed touches of each (app id, match key), in one round trip."""
        keys = list(dict.fromkeys(wanted))
        if not keys:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for app_id, key in keys:
            pipe.zrange(self._key(app_id, key), 0, -1)
        return {k: list(v) for k, v in zip(keys, pipe.execute(), strict=True) if v}

    def publish_indexed(self, reached: Mapping[int, int]) -> None:
        """Say how far the given partitions are indexed (offsets only ever grow)."""
        if reached:
            args = [str(x) for partition, offset in reached.items() for x in (partition, offset)]
            self._raise(keys=[self._indexed], args=args)

    def indexed(self) -> dict[int, int]:
        """How far every partition is indexed (a partition never published is absent)."""
        raw = self._redis.hgetall(self._indexed)
        return {int(k): int(v) for k, v in raw.items()}

    def clear(self) -> None:
        """Drop every touch and offset of the namespace (tests; a stream made anew)."""
        for name in self._redis.scan_iter(match=f"{self._prefix}*", count=1000):
            self._redis.delete(name)
        self._redis.delete(self._indexed)
