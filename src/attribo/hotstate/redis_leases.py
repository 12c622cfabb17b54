"""Which attributing worker holds which partition of the event stream: leases in Redis.

A partition is held by at most one worker at a time: `<namespace>:partition:<p>` names its
holder and expires unless renewed, so a worker killed without a word loses its partitions
after `ttl_ms` and the others take them over. Every worker beats in `<namespace>:workers`
(a sorted set by last beat); each takes a fair share of the partitions (all of them divided
by the live workers, rounded up) and gives back what it holds beyond that share once a new
worker has joined, after storing what it attributed of them.

A worker's id should outlive its process (the default: host name and data directory; a
Kubernetes StatefulSet pod keeps its name): restarted after a crash, it takes its own
partitions back at once instead of waiting for their leases to expire. Two live workers must
never share an id, since each would take the other's partitions for its own: every beat also
writes a random token of this process under `<namespace>:worker:<id>`, and a worker that
finds another live process's token there has a twin. The newer one (it wrote last at
start) keeps working; the older one gives its partitions up, says so in the log, and holds
nothing until the twin's token lapses.

A worker only trusts a lease for `ttl_ms` minus a margin since it last renewed it on its own
clock, and starts no write on a partition it can no longer vouch for: a paused process may
find its partition taken over, and a write already under way when it was lost lands events
the store's (app_id, event_id) dedup folds into the new holder's.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import socket
import time
import zlib
from collections.abc import Iterable
from typing import Any

from attribo.hotstate.redis_client import get_many, redis_from_url

# Renew only what is still ours; give back only what is still ours.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
# Take a free partition, or one this worker's id held before it restarted.
_CLAIM = """
local holder = redis.call('get', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
# Beat as this process: a token left by an earlier process of the same id (a restart) is
# replaced at the first beat; later, someone else's token means a live twin.
_BEAT = """
local token = redis.call('get', KEYS[1])
if token == false or token == ARGV[1] or ARGV[3] == '1' then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""
_log = logging.getLogger(__name__)
_TRUST = 0.6  # of the TTL: how long after a renewal a lease is still worked on


class RedisPartitionLeases:
    """Leases on `partitions` partitions for one worker; see the module docstring.

    `greedy` takes every free partition whatever the number of workers: a worker whose
    store is in its own process (chDB) must hold all of them or none.
    """

    def __init__(
        self,
        client: Any,
        namespace: str,
        partitions: int,
        *,
        ttl_ms: int = 10_000,
        greedy: bool = False,
        worker_id: str | None = None,
    ) -> None:
        self._redis = client
        self._prefix = f"{namespace}:partition:"
        self._workers = f"{namespace}:workers"
        self.partitions = partitions
        self.ttl_ms = ttl_ms
        self.greedy = greedy
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self._renew = client.register_script(_RENEW)
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)
        self._beat = client.register_script(_BEAT)
        self._token_key = f"{namespace}:worker:{self.worker_id}"
        self._token = secrets.token_hex(8)
        self._first_beat = True
        self.twin = False  # another live process has this worker's id
        self._trusted_until: dict[int, float] = {}
        self._start = zlib.crc32(self.worker_id.encode()) % partitions

    @classmethod
    def from_url(
        cls, url: str, namespace: str, partitions: int, **options: Any
    ) -> RedisPartitionLeases:
        """Connect to `redis://…`."""
        return cls(redis_from_url(url), namespace, partitions, **options)

    def refresh(self) -> tuple[set[int], set[int]]:
        """Beat, renew what is held and claim up to a fair share; returns (held, to give back)."""
        first, self._first_beat = self._first_beat, False
        alone = self._beat(
            keys=[self._token_key],
            args=[self._token, self.ttl_ms, "1" if first else "0"],
        )
        if not alone:
            if not self.twin:
                _log.error("another live worker has the id %r: giving up", self.worker_id)
            self.twin = True
            self._trusted_until.clear()  # the twin renews the same leases: they are its own
            return set(), set()
        self.twin = False
        now_ms = int(time.time() * 1000)
        beat = self._redis.pipeline(transaction=False)
        beat.zadd(self._workers, {self.worker_id: now_ms})
        beat.zremrangebyscore(self._workers, "-inf", now_ms - self.ttl_ms)
        beat.zcard(self._workers)
        alive = max(1, int(beat.execute()[-1]))
        share = self.partitions if self.greedy else math.ceil(self.partitions / alive)
        started = time.monotonic()
        held = {p for p in list(self._trusted_until) if self._renewed(p)}
        for partition in self._claim_order():
            if len(held) >= share:
                break
            if partition in held:
                continue
            if self._claim(keys=[self._key(partition)], args=[self.worker_id, self.ttl_ms]):
                held.add(partition)
        for partition in list(self._trusted_until):
            if partition not in held:
                del self._trusted_until[partition]
        for partition in held:
            self._trusted_until[partition] = started + self.ttl_ms * _TRUST / 1000
        excess = set(sorted(held, key=self._rank)[share:]) if len(held) > share else set()
        return held, excess

    def holds(self, partition: int) -> bool:
        """Whether the lease on `partition` was renewed recently enough to work on it."""
        return time.monotonic() < self._trusted_until.get(partition, 0.0)

    def release(self, partitions: Iterable[int]) -> None:
        """Give partitions back at once (after their work is stored)."""
        for partition in partitions:
            self._trusted_until.pop(partition, None)
            self._release(keys=[self._key(partition)], args=[self.worker_id])

    def leave(self) -> None:
        """Give everything back and stop beating (a clean stop)."""
        self.release(list(self._trusted_until))
        self._redis.zrem(self._workers, self.worker_id)

    def holders(self) -> dict[int, str]:
        """Every held partition and its worker (for /health and tests)."""
        values = get_many(self._redis, [self._key(p) for p in range(self.partitions)])
        return {p: v.decode() for p, v in enumerate(values) if v is not None}

    def _renewed(self, partition: int) -> bool:
        return bool(self._renew(keys=[self._key(partition)], args=[self.worker_id, self.ttl_ms]))

    def _key(self, partition: int) -> str:
        return f"{self._prefix}{partition}"

    def _rank(self, partition: int) -> int:
        """Where a partition comes in this worker's order (claimed first, given back last)."""
        return (partition - self._start) % self.partitions

    def _claim_order(self) -> list[int]:
        """Partitions from this worker's own starting point, so workers spread from the start."""
        return sorted(range(self.partitions), key=self._rank)
