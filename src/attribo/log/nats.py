"""The cluster event log: a NATS JetStream stream behind the same `Log` protocol.

Offsets are stream sequence numbers: an entry's `next_offset` is its own sequence, so
reading from offset `n` starts at sequence `n + 1`, exactly as `LocalLog` resumes just past
the entry whose offset it was handed. An append returns once JetStream has acknowledged the
message (stored, and on a replicated stream stored by a quorum): that ack is what the
collector's 2xx waits for.

nats-py is asyncio-only while `read` is called from plain threads (the store writer) and
`append` from whatever loop the caller runs (uvicorn's, or `asyncio.run` in tests), so the
client lives on one private event-loop thread and every call is handed to it.

Partitions: a payload goes to subject `<namespace>.events.<p>`, p a stable hash of its key
(the app id) modulo the stream's partition count, which is fixed when the stream is created
and kept in its description. Attributing workers each hold some partitions and read each with
a durable consumer filtered on its subject, so every app (and so every device of it) is
attributed by one worker at a time, in stream order; `read` sees every partition.

Reads go through durable pull consumers (`AckPolicy.ALL`). The store keeps its offset with
the events and writes idempotently, so the store, not the consumer, is the source of truth: when
a read asks for another position than the consumer's, the consumer is recreated there. `trim`
acknowledges up to an offset, which records the pipeline's progress on the server (lag is
visible with `nats consumer info`) without deleting anything: the stream keeps messages for
`max_age` so the log tail can always be replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

try:
    import nats
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext, api
    from nats.js.errors import NotFoundError
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("the NATS event log needs nats-py: pip install 'attribo[cluster]'") from exc

from attribo.log.base import LogEntry, LogFailed, partition_of

T = TypeVar("T")

_FETCH_MAX = 512  # messages asked for in one pull request
_ACK_WAIT_S = 600.0  # the store writer acks after its transaction; leave it time before redelivery
_PUBLISH_ATTEMPTS = 3
_HEADER_ROOM = 4096
REPLY_HEADER = "Attribo-Reply"  # where a collector waits for the worker's live answers
_PARTITIONS_TAG = "partitions="


def stream_name(namespace: str) -> str:
    """The JetStream stream holding a namespace's events."""
    return f"{namespace}_events".upper()


def subject_name(namespace: str, partition: int | None = None) -> str:
    """The subject of one partition of a namespace's events (None: all of them)."""
    return f"{namespace}.events.{'*' if partition is None else partition}"


@dataclass
class _Cursor:
    """One durable consumer's read position; only touched on the client's loop thread."""

    consumer: str
    subject: str  # the consumer's filter
    position: int = -1  # offset the consumer resumes after; -1: no consumer yet
    sub: Any = None  # JetStreamContext.PullSubscription once created
    buffer: deque[Msg] = field(default_factory=deque)
    unacked: deque[Msg] = field(default_factory=deque)
    drained_at: int = -1  # the subject's message count when a read last found nothing new


class NatsLog:
    """A JetStream stream as an append-only log; see the module docstring."""

    def __init__(
        self,
        url: str,
        namespace: str,
        *,
        consumer: str = "store",
        replicas: int = 1,
        partitions: int = 1,
        max_age_s: float = 7 * 86_400,
        connect_timeout_s: float = 5.0,
    ) -> None:
        """Connect and create the stream if missing (an existing stream keeps its settings,
        its partition count included)."""
        self._namespace = namespace
        self._stream = stream_name(namespace)
        self._consumer_prefix = f"{namespace}_{consumer}"
        self.partitions = max(1, partitions)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="attribo-nats-log", daemon=True
        )
        self._thread.start()
        self._closed = False
        self._pending: list[tuple[bytes, str, str | None, asyncio.Future[int]]] = []
        self._pending_lock = threading.Lock()
        self._inflight: set[asyncio.Future[int]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._all = _Cursor(self._consumer_prefix, subject_name(namespace))  # every partition
        self._cursors: dict[int, _Cursor] = {}
        self._drained: dict[int, int] = {}  # see `drained_through`
        try:
            self._nc, self._js = self._call(self._connect(url, connect_timeout_s))
            self.partitions = self._call(self._ensure_stream(replicas, max_age_s))
        except BaseException:
            if hasattr(self, "_nc"):  # connected, then refused the stream
                with contextlib.suppress(Exception):
                    self._call(self._nc.close(), timeout=10.0)
            self._stop_loop()
            raise
        # The server's limit counts headers too; leave room for ours.
        self._max_payload = self._nc.max_payload - _HEADER_ROOM

    # -- the loop bridge -----------------------------------------------------------------
    def _call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 60.0) -> T:
        """Run a coroutine on the client's loop and wait for it from this thread."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _connect(self, url: str, timeout: float) -> tuple[Client, JetStreamContext]:
        nc = await nats.connect(
            url, connect_timeout=timeout, max_reconnect_attempts=-1, allow_reconnect=True
        )
        return nc, nc.jetstream()

    async def _ensure_stream(self, replicas: int, max_age_s: float) -> int:
        """Create the stream if missing; returns its partition count."""
        try:
            info = await self._js.stream_info(self._stream)
        except NotFoundError:
            await self._js.add_stream(
                api.StreamConfig(
                    name=self._stream,
                    description=f"attribo events; {_PARTITIONS_TAG}{self.partitions}",
                    subjects=[subject_name(self._namespace)],
                    retention=api.RetentionPolicy.LIMITS,
                    storage=api.StorageType.FILE,
                    num_replicas=replicas,
                    max_age=max_age_s,
                    duplicate_window=120.0,
                )
            )
            return self.partitions
        if subject_name(self._namespace) not in (info.config.subjects or []):
            raise LogFailed(
                f"stream {self._stream} predates partitioned subjects: stop its workers with"
                f" SIGTERM (they drain it into the store), then delete it (nats stream rm"
                f" {self._stream}) and start again"
            )
        description = info.config.description or ""
        _, _, count = description.partition(_PARTITIONS_TAG)
        return int(count) if count.isdigit() else 1

    # -- writing -------------------------------------------------------------------------
    async def append(self, payload: bytes, key: str = "", reply: str | None = None) -> int:
        """Publish one payload to its key's partition; returns its sequence once JetStream has
        acknowledged it.

        Appends are handed to the client's loop in groups (one thread hop per group, not per
        append: a hop each cost more than the publish under load) and settled per caller loop.
        `reply`, if given, travels in a header to the worker that attributes the payload.
        """
        if self._closed:
            raise LogFailed("log is closed")
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        subject = subject_name(self._namespace, partition_of(key, self.partitions))
        with self._pending_lock:
            self._pending.append((payload, subject, reply, future))
            self._inflight.add(future)
            first = len(self._pending) == 1
        if first:
            self._loop.call_soon_threadsafe(self._take_pending)
        try:
            return await future
        finally:
            with self._pending_lock:
                self._inflight.discard(future)

    def _take_pending(self) -> None:
        """On the client's loop: publish every waiting append concurrently."""
        with self._pending_lock:
            group, self._pending = self._pending, []
        if group:
            task = self._loop.create_task(self._publish_group(group))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _publish_group(
        self, group: list[tuple[bytes, str, str | None, asyncio.Future[int]]]
    ) -> None:
        results = await asyncio.gather(
            *(self._publish(payload, subject, reply) for payload, subject, reply, _ in group),
            return_exceptions=True,
        )
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], object]]] = {}
        for (*_, future), result in zip(group, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, LogFailed):
                result = LogFailed(f"publishing to JetStream failed: {result!r}")
            by_loop.setdefault(future.get_loop(), []).append((future, result))
        for loop, settled in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_settle, settled)

    async def _publish(self, payload: bytes, subject: str, reply: str | None) -> int:
        """Publish, in line-aligned parts if the payload exceeds the server's message limit.

        A part carries a `Nats-Msg-Id`, so a publish retried after a lost ack is stored once.
        """
        seq = 0
        for part in _split(payload, self._max_payload):
            headers = {"Nats-Msg-Id": uuid.uuid4().hex}
            if reply is not None:
                headers[REPLY_HEADER] = reply
            for attempt in range(_PUBLISH_ATTEMPTS):
                try:
                    ack = await self._js.publish(
                        subject, part, timeout=5.0, stream=self._stream, headers=headers
                    )
                    break
                except (nats.errors.TimeoutError, nats.js.errors.NoStreamResponseError) as exc:
                    if attempt == _PUBLISH_ATTEMPTS - 1:
                        raise LogFailed(f"JetStream did not acknowledge: {exc!r}") from exc
            seq = ack.seq
        return seq

    async def flush(self) -> None:
        """Return once every append this loop started before the call has been acknowledged."""
        loop = asyncio.get_running_loop()
        with self._pending_lock:
            pending = [f for f in self._inflight if f.get_loop() is loop]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    # -- reading -------------------------------------------------------------------------
    def read(self, offset: int, max_bytes: int) -> list[LogEntry]:
        """Entries of every partition after `offset`, at least one if any, about `max_bytes`."""
        return self._call(self._read(self._all, offset, max_bytes))

    def read_partitions(
        self, offsets: Mapping[int, int], max_bytes: int
    ) -> dict[int, list[LogEntry]]:
        """Each given partition's entries after its offset (about `max_bytes` in all).

        One thread hop, one look at the stream's per-subject counts, and concurrent reads of
        only the partitions whose count moved since they were last found drained.
        """
        return self._call(self._read_partitions(dict(offsets), max_bytes))

    async def _read_partitions(
        self, offsets: dict[int, int], max_bytes: int
    ) -> dict[int, list[LogEntry]]:
        info = await self._js.stream_info(self._stream, subjects_filter=self._all.subject)
        counts = info.state.subjects or {}
        busy: dict[int, tuple[_Cursor, int]] = {}
        drained: dict[int, int] = {}
        for partition, offset in offsets.items():
            cursor = self._cursor(partition)
            count = counts.get(cursor.subject, 0)
            if cursor.position == offset and not cursor.buffer and cursor.drained_at == count:
                drained[partition] = info.state.last_seq
                continue  # nothing was added to this subject since it was last drained
            busy[partition] = (cursor, count)
        share = max(1, max_bytes // max(1, len(busy)))
        reads = await asyncio.gather(
            *(self._read(cursor, offsets[p], share) for p, (cursor, _) in busy.items())
        )
        found: dict[int, list[LogEntry]] = {}
        for (partition, (cursor, count)), entries in zip(busy.items(), reads, strict=True):
            if entries:
                found[partition] = entries
                cursor.drained_at = -1
            elif not cursor.buffer:
                cursor.drained_at = count
                drained[partition] = info.state.last_seq
        self._drained = drained
        return found

    def drained_through(self) -> dict[int, int]:
        """The partitions the last `read_partitions` found empty, each with the stream's last
        sequence before that read: no later entry of theirs can have a lower offset."""
        return dict(self._drained)

    def _cursor(self, partition: int) -> _Cursor:
        cursor = self._cursors.get(partition)
        if cursor is None:
            cursor = self._cursors[partition] = _Cursor(
                f"{self._consumer_prefix}_p{partition}", subject_name(self._namespace, partition)
            )
        return cursor

    async def _read(self, cursor: _Cursor, offset: int, max_bytes: int) -> list[LogEntry]:
        try:
            if offset != cursor.position:
                await self._seek(cursor, offset)
            if not cursor.buffer:
                info = await self._js.consumer_info(self._stream, cursor.consumer)
                if info.num_pending:
                    await self._fill(cursor, min(info.num_pending, _FETCH_MAX))
        except Exception:
            cursor.position = -1  # the consumer may be gone (server restart): recreate it
            raise
        entries: list[LogEntry] = []
        budget = max_bytes
        while cursor.buffer and (budget > 0 or not entries):
            msg = cursor.buffer.popleft()
            seq = msg.metadata.sequence.stream
            reply = msg.headers.get(REPLY_HEADER) if msg.headers else None
            entries.append(LogEntry(seq, msg.data, reply))
            cursor.unacked.append(msg)
            budget -= len(msg.data) + 8
            cursor.position = seq
        return entries

    async def _fill(self, cursor: _Cursor, want: int) -> None:
        """Pull up to `want` messages known to exist; redeliveries of handed-out ones drop."""
        if cursor.sub is None:
            raise LogFailed("no consumer to read from")
        try:
            msgs = await cursor.sub.fetch(want, timeout=2.0)
        except nats.errors.TimeoutError:
            cursor.position = -1  # messages exist but none came: start over on the next read
            return
        for msg in msgs:
            if msg.metadata.sequence.stream > cursor.position:
                cursor.buffer.append(msg)

    async def _seek(self, cursor: _Cursor, offset: int) -> None:
        """(Re)create the durable consumer so that it delivers from `offset + 1`."""
        if cursor.sub is not None:
            with contextlib.suppress(Exception):
                await cursor.sub.unsubscribe()
            cursor.sub = None
        with contextlib.suppress(NotFoundError):
            await self._js.delete_consumer(self._stream, cursor.consumer)
        cursor.buffer.clear()
        cursor.unacked.clear()
        config = api.ConsumerConfig(
            durable_name=cursor.consumer,
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=offset + 1,
            ack_policy=api.AckPolicy.ALL,
            ack_wait=_ACK_WAIT_S,
            max_ack_pending=1_000_000,
            max_deliver=-1,
            filter_subject=cursor.subject,
        )
        cursor.sub = await self._js.pull_subscribe(
            cursor.subject, durable=cursor.consumer, stream=self._stream, config=config
        )
        cursor.position = offset

    def trim(self, before: int, partition: int | None = None) -> int:
        """Acknowledge every entry up to `before` on a durable consumer; returns how many."""
        cursor = self._all if partition is None else self._cursor(partition)
        return self._call(self._ack_until(cursor, before))

    async def _ack_until(self, cursor: _Cursor, before: int) -> int:
        last: Msg | None = None
        count = 0
        while cursor.unacked and cursor.unacked[0].metadata.sequence.stream <= before:
            last = cursor.unacked.popleft()
            count += 1
        if last is not None:
            await last.ack_sync(timeout=5.0)  # AckPolicy.ALL: covers everything before it
        return count

    def partition_ends(self) -> dict[int, int]:
        """Each partition's last sequence (0 for a partition that never had a message)."""
        return self._call(self._partition_ends())

    async def _partition_ends(self) -> dict[int, int]:
        async def last(partition: int) -> int:
            try:
                msg = await self._js.get_last_msg(
                    self._stream, subject_name(self._namespace, partition)
                )
            except NotFoundError:
                return 0
            return int(msg.seq or 0)

        ends = await asyncio.gather(*(last(p) for p in range(self.partitions)))
        return dict(enumerate(ends))

    def release_partition(self, partition: int) -> None:
        """Forget a partition's read position (another worker holds it now)."""
        self._call(self._release(partition))

    async def _release(self, partition: int) -> None:
        cursor = self._cursors.pop(partition, None)
        if cursor is not None and cursor.sub is not None:
            with contextlib.suppress(Exception):
                await cursor.sub.unsubscribe()

    def publish_answers(self, answers: list[tuple[str, bytes]]) -> None:
        """Send (subject, payload) messages on plain NATS: live answers to waiting collectors.

        Fire and forget: a collector that is gone has nobody to answer, and one that misses
        an answer reads it from the shared answer cache instead.
        """
        if answers:
            self._call(self._publish_plain(answers))

    async def _publish_plain(self, answers: list[tuple[str, bytes]]) -> None:
        for subject, payload in answers:
            await self._nc.publish(subject, payload)
        await self._nc.flush(timeout=5)

    async def subscribe_answers(self, subject: str, on_answer: Callable[[bytes], None]) -> None:
        """Call `on_answer` on the caller's loop with each message on `subject`."""
        loop = asyncio.get_running_loop()

        async def deliver(msg: Msg) -> None:
            with contextlib.suppress(RuntimeError):  # the caller's loop closed
                loop.call_soon_threadsafe(on_answer, msg.data)

        await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(self._nc.subscribe(subject, cb=deliver), self._loop)
        )

    def start_offset(self) -> int:
        """The offset just before the oldest message still kept."""
        state = self._call(self._js.stream_info(self._stream)).state
        if state.messages == 0:
            return state.last_seq
        return max(0, state.first_seq - 1)

    def end_offset(self) -> int:
        """The sequence of the last acknowledged message."""
        return self._call(self._js.stream_info(self._stream)).state.last_seq

    # -- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:
        """Wait for in-flight publishes, close the connection and the loop thread."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._call(self._nc.drain(), timeout=10.0)
        self._stop_loop()

    def destroy(self) -> None:
        """Delete the stream and its consumers (test clean-up, `namespace` teardown)."""
        with contextlib.suppress(NotFoundError):
            self._call(self._js.delete_stream(self._stream))
        self.close()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10.0)
        self._loop.close()


def _settle(settled: list[tuple[asyncio.Future[int], object]]) -> None:
    """Resolve futures on their own loop (called through call_soon_threadsafe)."""
    for future, result in settled:
        if future.done():
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(int(result))  # type: ignore[call-overload]


def _split(payload: bytes, limit: int) -> list[bytes]:
    """Cut a payload into parts of at most `limit` bytes at line ends (JSON lines stay whole)."""
    if len(payload) <= limit:
        return [payload]
    parts: list[bytes] = []
    start = 0
    while start < len(payload):
        if len(payload) - start <= limit:
            parts.append(payload[start:])
            break
        cut = payload.rfind(b"\n", start, start + limit)
        if cut < start:
            raise ValueError(f"a log record line is longer than the server's {limit} bytes")
        parts.append(payload[start : cut + 1])
        start = cut + 1
    return parts
