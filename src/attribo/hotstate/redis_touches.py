"""The shared live touchpoint index of device-partitioned workers, and how far each reached.

When the stream is partitioned by app and device, a click and the install it should win can
land on different partitions, so on different workers (a click id or a fingerprint says
nothing about the device). Every worker writes the touches it reads here, and reads the
touches an install could match from here, beside its own.

- `<ns>:touch:{<app>}<key>`: a sorted set of one match key's touches (packed, as the
  attribution layer gives them), scored by event time. Adding trims what fell behind the
  horizon from that key and renews its expiry, so memory is bounded as in one process. A
  touch added twice (a partition read again after a crash) is one member: the same bytes.
  On a Redis Cluster the app's hash tag keeps its keys in one slot: one script call per
  app and step (on one server, one call per step).
- `<ns>:indexed`: a hash of partition → offset: every entry of the partition up to that
  stream offset has its touches here. An install at offset `o` is decided once every other
  partition reached `o`, so it sees exactly the touches that arrived before it, whichever
  worker read them. Offsets only grow (a Lua max), so a late write of a stale value is inert.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec

from attribo.hotstate.redis_client import app_tag, is_cluster, redis_from_url

# ARGV[1]: a MessagePack array [rows, trims]; rows of (key, score, member), trims of (key,
# floor, ttl): add the rows, then trim each key below its floor and renew its expiry. One
# argument a batch, unpacked in Redis (its Lua has cmsgpack): encoding three arguments a
# row in the client cost more than the adds themselves.
_ADD = """
local batch = cmsgpack.unpack(ARGV[1])
for _, row in ipairs(batch[1]) do
  redis.call('zadd', row[1], row[2], row[3])
end
for _, trim in ipairs(batch[2]) do
  redis.call('zremrangebyscore', trim[1], '-inf', '(' .. trim[2])
  redis.call('pexpire', trim[1], trim[3])
end
return #batch[1]
"""
# Raise each field to the given value if higher; ARGV holds field, value pairs.
_RAISE = """
for i = 1, #ARGV, 2 do
  local now = tonumber(redis.call('hget', KEYS[1], ARGV[i]) or '-1')
  if tonumber(ARGV[i + 1]) > now then redis.call('hset', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 1
"""


_pack = msgspec.msgpack.Encoder().encode


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
        self._add = client.register_script(_ADD)
        self._cluster = is_cluster(client)

    @classmethod
    def from_url(
        cls, url: str, namespace: str, horizon_ms: Callable[[str], int]
    ) -> RedisTouchIndex:
        """Connect to `url` (`redis://host:port/db`)."""
        return cls(redis_from_url(url), namespace, horizon_ms)

    def _key(self, app_id: str, key: str) -> str:
        return f"{self._prefix}{app_tag(app_id)}{key}"

    def add(self, touches: Iterable[tuple[str, str, int, bytes]]) -> int:
        """Index (app id, match key, event time, packed touch) rows in one round trip (one
        per app on a Redis Cluster); a packed touch is UTF-8 text (JSON), which Redis's Lua
        takes in MessagePack."""
        by_app: dict[str, tuple[list[tuple[str, int, str]], dict[str, int]]] = {}
        for app_id, key, event_time, packed in touches:
            found = by_app.get(app_id)
            if found is None:
                found = by_app[app_id] = ([], {})
            rows, newest = found  # the app's rows; each key's newest event time
            name = self._key(app_id, key)
            rows.append((name, event_time, packed.decode()))  # a string to Redis's Lua
            newest[name] = max(newest.get(name, event_time), event_time)
        batches = []  # per app: rows, and (key, floor, ttl) trims at the app's horizon
        for app_id, (rows, newest) in by_app.items():
            horizon = self._horizon_ms(app_id)
            batches.append((rows, [(name, t - horizon, horizon) for name, t in newest.items()]))
        if self._cluster:
            for rows, trims in batches:  # the script runs on the app's shard
                self._add(keys=[rows[0][0]], args=[_pack((rows, trims))])
        elif batches:
            every = [row for rows, _ in batches for row in rows]
            self._add(args=[_pack((every, [trim for _, trims in batches for trim in trims]))])
        return sum(len(rows) for rows, _ in batches)

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
