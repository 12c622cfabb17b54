"""The `Log` protocol: an append-only, durable, replayable sequence of payloads."""

from __future__ import annotations

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

    async def append(self, payload: bytes) -> int:
        """Append one payload; returns once it is durable, with the offset past it."""
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
