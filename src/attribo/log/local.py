"""The embedded event log: append-only segment files with group commit.

Each record is framed as `<u32 length><u32 crc32><payload>`. Offsets are global byte
positions; a segment file is named by the offset of its first byte, so finding the
segment for an offset is a bisect. Appends from any number of coroutines are written
by one thread, which fsyncs once per group: many requests share one fsync, and none is
acknowledged before its bytes are on disk. On open, a torn tail left by a crash (a
frame cut short or with a bad checksum) is cut off; it was never acknowledged.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import os
import struct
import threading
import zlib
from collections import defaultdict
from pathlib import Path

from attribo.log.base import LogEntry, LogFailed

_HEADER = struct.Struct("<II")
_SUFFIX = ".seg"
_MAX_RECORD = 256 << 20


def _segment_name(base: int) -> str:
    return f"{base:020d}{_SUFFIX}"


def _valid_length(path: Path) -> int:
    """Length of the prefix of a segment made of whole, checksummed frames."""
    good = 0
    with open(path, "rb") as fh:
        data = fh.read()
    while good + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, good)
        end = good + _HEADER.size + length
        if length > _MAX_RECORD or end > len(data):
            break
        if zlib.crc32(data[good + _HEADER.size : end]) != crc:
            break
        good = end
    return good


class _Waiter:
    """A coroutine waiting for its payload (or a barrier, payload None) to be durable."""

    __slots__ = ("future", "loop", "payload")

    def __init__(self, payload: bytes | None) -> None:
        self.payload = payload
        self.loop = asyncio.get_running_loop()
        self.future: asyncio.Future[int] = self.loop.create_future()


def _settle(results: list[tuple[asyncio.Future[int], int | BaseException]]) -> None:
    """Resolve futures on their own loop (called through call_soon_threadsafe)."""
    for future, result in results:
        if future.done():
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


class LocalLog:
    """Segment files in one directory; see the module docstring."""

    def __init__(self, directory: Path, segment_bytes: int = 64 << 20, fsync: bool = True):
        self._dir = Path(directory)
        self._dir.mkdir(parents=True, exist_ok=True)
        self._segment_bytes = segment_bytes
        self._fsync = fsync
        self._bases = sorted(int(p.stem) for p in self._dir.glob(f"*{_SUFFIX}"))
        if not self._bases:
            self._bases = [0]
            (self._dir / _segment_name(0)).touch()
        tail = self._dir / _segment_name(self._bases[-1])
        valid = _valid_length(tail)
        if valid != tail.stat().st_size:
            with open(tail, "r+b") as fh:
                fh.truncate(valid)
                os.fsync(fh.fileno())
        self._durable_end = self._bases[-1] + valid
        self._fd = os.open(tail, os.O_WRONLY | os.O_APPEND)
        self._write_end = self._durable_end
        self._pending: list[_Waiter] = []
        self._cond = threading.Condition()
        self._closing = False
        self._failed: BaseException | None = None
        self._writer = threading.Thread(target=self._run, name="attribo-log-writer", daemon=True)
        self._writer.start()

    # -- writing -------------------------------------------------------------------------
    async def append(self, payload: bytes, key: str = "") -> int:
        """Append one payload; returns the offset past it once it is on disk (one partition:
        the key does not matter)."""
        if len(payload) > _MAX_RECORD:
            raise ValueError("log record too large")
        return await self._enqueue(payload)

    async def flush(self) -> None:
        """Wait for everything appended before this call to be durable."""
        with self._cond:
            if not self._pending and self._write_end == self._durable_end:
                return
        await self._enqueue(None)

    async def _enqueue(self, payload: bytes | None) -> int:
        waiter = _Waiter(payload)
        with self._cond:
            if self._failed is not None:
                raise LogFailed(str(self._failed))
            if self._closing:
                raise LogFailed("log is closed")
            self._pending.append(waiter)
            self._cond.notify()
        return await waiter.future

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                group, self._pending = self._pending, []
                if not group and self._closing:
                    return
            self._commit(group)

    def _commit(self, group: list[_Waiter]) -> None:
        """Write a group, sync it once, then acknowledge every member."""
        by_loop: dict[
            asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], int | BaseException]]
        ]
        by_loop = defaultdict(list)
        try:
            if self._failed is not None:
                raise LogFailed(str(self._failed))
            frames: list[bytes] = []
            ends: list[int] = []
            position = self._write_end
            for waiter in group:
                if waiter.payload is not None:
                    payload = waiter.payload
                    if position > self._bases[-1] and (
                        position - self._bases[-1] + len(payload) > self._segment_bytes
                    ):
                        self._write_frames(frames)
                        frames = []
                        self._roll(position)
                    frames.append(_HEADER.pack(len(payload), zlib.crc32(payload)))
                    frames.append(payload)
                    position += _HEADER.size + len(payload)
                ends.append(position)
            self._write_frames(frames)
            if self._fsync:
                os.fdatasync(self._fd)
            with self._cond:
                self._write_end = position
                self._durable_end = position
            for waiter, end in zip(group, ends, strict=True):
                by_loop[waiter.loop].append((waiter.future, end))
        except BaseException as exc:  # a failed write or sync: refuse everything from now on
            self._failed = exc
            for waiter in group:
                by_loop[waiter.loop].append((waiter.future, LogFailed(str(exc))))
        for loop, results in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_settle, results)

    def _write_frames(self, frames: list[bytes]) -> None:
        if frames:
            data = b"".join(frames)
            written = os.write(self._fd, data)
            while written < len(data):
                written += os.write(self._fd, data[written:])

    def _roll(self, base: int) -> None:
        """Close the current segment (synced) and start a new one at `base`."""
        if self._fsync:
            os.fdatasync(self._fd)
        os.close(self._fd)
        path = self._dir / _segment_name(base)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if self._fsync:
            dir_fd = os.open(self._dir, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        with self._cond:
            self._write_end = base
            self._bases.append(base)

    # -- reading -------------------------------------------------------------------------
    def read(self, offset: int, max_bytes: int) -> list[LogEntry]:
        """Durable entries from `offset`: whole frames, about `max_bytes` of them."""
        with self._cond:
            end = self._durable_end
            bases = list(self._bases)
        entries: list[LogEntry] = []
        budget = max_bytes
        while offset < end and (budget > 0 or not entries):
            index = bisect.bisect_right(bases, offset) - 1
            if index < 0:
                raise ValueError(f"offset {offset} is before the log's start {bases[0]}")
            base = bases[index]
            segment_end = bases[index + 1] if index + 1 < len(bases) else end
            if offset >= segment_end:
                offset = segment_end
                continue
            limit = min(segment_end, end)
            with open(self._dir / _segment_name(base), "rb") as fh:
                fh.seek(offset - base)
                while offset < limit and (budget > 0 or not entries):
                    header = fh.read(_HEADER.size)
                    length, crc = _HEADER.unpack(header)
                    payload = fh.read(length)
                    if len(payload) != length or zlib.crc32(payload) != crc:
                        raise ValueError(f"corrupt log record at offset {offset}")
                    offset += _HEADER.size + length
                    entries.append(LogEntry(offset, payload))
                    budget -= _HEADER.size + length
        return entries

    def start_offset(self) -> int:
        """Offset of the oldest kept segment."""
        with self._cond:
            return self._bases[0]

    def end_offset(self) -> int:
        """Offset past the last durable record."""
        with self._cond:
            return self._durable_end

    def trim(self, before: int) -> int:
        """Delete whole segments that end at or before `before`; returns how many."""
        removed = 0
        with self._cond:
            while len(self._bases) > 1 and self._bases[1] <= before:
                (self._dir / _segment_name(self._bases.pop(0))).unlink(missing_ok=True)
                removed += 1
        return removed

    def close(self) -> None:
        """Write and sync what is pending, stop the writer, close the file."""
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._cond.notify()
        self._writer.join()
        os.close(self._fd)
