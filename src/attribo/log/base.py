"""The `Log` protocol: an append-only, durable, replayable sequence of payloads."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import NamedTuple, Protocol


class LogFailed(RuntimeError):
    """The log could not write or sync; nothing more is acknowledged until restart."""


class LogEntry(NamedTuple):
    """A payload and the offset just past it (where a reader resumes).

    `reply` names where the payload's sender waits for its live attribution (cluster
    collectors, which attribute nothing themselves); None for every other entry.
    """

    next_offset: int
    payload: bytes
    reply: str | None = None


class Log(Protocol):
    """Append-only log: a payload is acknowledged only once it is durable."""

    async def append(self, payload: bytes, key: str = "") -> int:
        """Append one payload; returns once it is durable, with the offset past it.

        Payloads of one `key` (the app id) stay in order with each other; a partitioned log
        routes by it.
        """
        ...

    async def flush(self) -> None:
        """Return once everything appended before the call is durable."""
        ...

    def read(self, offset: int, max_bytes: int) -> list[LogEntry]:
        """Durable entries from `offset` on, at least one if any, about `max_bytes` in all."""
        ...

    def start_offset(self) -> int:
        """The offset of the oldest entry still kept."""
        ...

    def end_offset(self) -> int:
        """The offset past the last durable entry."""
        ...

    def close(self) -> None:
        """Flush, stop background work and release files."""
        ...


class PartitionedLog(Log, Protocol):
    """A log split by key into partitions, each read on its own (the cluster's stream)."""

    partitions: int

    def read_partitions(
        self, offsets: Mapping[int, int], max_bytes: int
    ) -> dict[int, list[LogEntry]]:
        """Each given partition's entries after its offset; partitions with none are left out."""
        ...

    def partition_ends(self) -> dict[int, int]:
        """Each partition's offset past its last entry (0 for one that never had any)."""
        ...

    def trim(self, before: int, partition: int | None = None) -> int:
        """Record progress up to `before` on a partition's reader (None: the whole log)."""
        ...

    def release_partition(self, partition: int) -> None:
        """Forget a partition's read position (another reader holds it now)."""
        ...

    def drained_through(self) -> dict[int, int]:
        """The partitions the last `read_partitions` found empty, each with an offset below
        which none of their entries can still appear."""
        ...


def partition_of(key: str, partitions: int) -> int:
    """The partition of a key (an app id): the same in every process and release.

    A keyed hash, not CRC-32: CRC is linear, so ids that differ in one character (`app1`,
    `app2`, ...) can all land in the same few partitions.
    """
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions
