"""The fraud feed of device-partitioned workers: a Redis stream of the rows each one counted.

`<namespace>:fraud-feed` holds one message per worker step: the log entries whose records
that worker folded into its fraud statistics, each as (partition, offset, slim records) in
MessagePack. Every worker reads the stream from its start: one that starts has taken the
stored statistics from the store, and needs the entries not stored yet. The stream keeps
about `keep` messages (Redis trims it approximately, oldest first). A reader passes over
what its own process sent (it counted those already); a restarted worker is a new process
and reads its predecessor's messages like anyone else's. One stream for the namespace: on
a Redis Cluster it lives on one shard, a small share of the traffic (one write per step).
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec

from attribo.events.record import StoredEvent
from attribo.hotstate.redis_client import redis_from_url

FeedGroup = tuple[int, int, list[StoredEvent]]  # partition, entry offset, its rows
_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(list[tuple[int, int, list[StoredEvent]]]).decode
KEEP_MESSAGES = 20_000
READ_MESSAGES = 500  # per XREAD


class RedisFraudFeed:
    """Send this worker's counted entries; read everyone else's, in the order they were sent."""

    def __init__(self, client: Any, namespace: str, keep: int = KEEP_MESSAGES) -> None:
        self._redis = client
        self._key = f"{namespace}:fraud-feed"
        self._keep = keep
        self._sender = secrets.token_hex(8).encode()  # this process
        self._cursor = b"0-0"  # the stream's start: what others counted before we came
        self.sent = 0
        self.received = 0

    @classmethod
    def from_url(cls, url: str, namespace: str, **options: Any) -> RedisFraudFeed:
        """Connect to `redis://…` or `redis+cluster://…`."""
        return cls(redis_from_url(url), namespace, **options)

    def publish(self, groups: list[FeedGroup]) -> None:
        """Send entries (nothing to send: no message)."""
        if not groups:
            return
        fields = {"from": self._sender, "groups": _encode(groups)}
        self._redis.xadd(self._key, fields, maxlen=self._keep, approximate=True)
        self.sent += len(groups)

    def rewind(self) -> None:
        """Read from the start of what the stream keeps again (this process's own too)."""
        self._cursor = b"0-0"
        self._sender = secrets.token_hex(8).encode()

    def read(self) -> list[FeedGroup]:
        """Every entry other processes sent since the last read."""
        groups: list[FeedGroup] = []
        while True:
            answer = self._redis.xread({self._key: self._cursor}, count=READ_MESSAGES)
            messages = answer[0][1] if answer else []
            for message_id, fields in messages:
                self._cursor = message_id
                if fields.get(b"from") != self._sender:
                    groups.extend(_decode(fields[b"groups"]))
            if len(messages) < READ_MESSAGES:
                break
        self.received += len(groups)
        return groups
