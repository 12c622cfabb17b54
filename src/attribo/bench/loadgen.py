"""A CPU-cheap HTTP/1.1 keep-alive load generator, run in its own processes.

The generator shares the machine with the server, so every cycle it spends is taken from
the thing being measured: requests are pre-encoded bytes, responses are parsed only as far
as the status line and Content-Length, and each process runs one uvloop event loop.

Unique event ids: a request may contain `ID_SLOT` (a fixed-width placeholder inside its
event ids). Before each send the slot is replaced, with one `bytes.replace` call, by a
stamp unique to (this `run_load` call, process, send number), so a request template can be
sent any number of times and every event id the server sees is new.

Fresh devices: a request may also contain `DEVICE_SLOT` (inside device ids and click ids).
It is replaced by a stamp unique to (run, process, connection, pass over the pool): each
connection walks the whole pool once per pass, so within a pass a device's click and its
install carry the same ids, as in the pool, while the next pass brings new devices. Without
it every pass would send the same devices again, which real traffic never does, and a
device's touch history (what attribution scans per install) would grow with the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import multiprocessing
import queue
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec

ID_SLOT = "@@@@@@@@@@@@"  # 12 chars: namespace (2 hex) + process (2 hex) + counter (8 hex)
_SLOT = ID_SLOT.encode()
# 12 chars: namespace (2 hex) + process (2 hex) + connection offset (4 hex) + pass (4 hex)
DEVICE_SLOT = "%%%%%%%%%%%%"
_DEVICE_SLOT = DEVICE_SLOT.encode()
_LOCAL_HOSTS = ("127.0.0.1", "localhost")
_CONNECT_TIMEOUT_S = 10.0
_GRACE_S = 5.0  # how long in-flight requests may finish after the window before they fail
_namespaces = itertools.count()


@dataclass
class LoadResult:
    """What one load run measured, summed over its processes."""

    requests_ok: int = 0
    requests_failed: int = 0
    duration_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    status_counts: dict[int, int] = field(default_factory=dict)
    duplicates: int = 0  # sum of `duplicates` the server reported in 2xx responses
    client_cpu_s: float = 0.0  # CPU the load processes used, to show the generator is cheap
    client_wall_s: float = 0.0  # how long the load processes ran (warm-up included)

    @property
    def ok_per_s(self) -> float:
        """Completed 2xx requests per second of the measurement window."""
        return self.requests_ok / self.duration_s if self.duration_s else 0.0

    def percentile(self, q: float) -> float | None:
        """Latency percentile (nearest-rank), q in 0..100; None without samples."""
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1
        return ordered[rank]

    def merge(self, other: LoadResult) -> None:
        """Add another process's counts into this one."""
        self.requests_ok += other.requests_ok
        self.requests_failed += other.requests_failed
        self.latencies_ms.extend(other.latencies_ms)
        for status, count in other.status_counts.items():
            self.status_counts[status] = self.status_counts.get(status, 0) + count
        self.duplicates += other.duplicates
        self.client_cpu_s += other.client_cpu_s
        self.client_wall_s = max(self.client_wall_s, other.client_wall_s)


@dataclass(frozen=True)
class _Plan:
    """One process's share of the run; plain data so it pickles for 'spawn'."""

    host: str
    port: int
    index: int
    processes: int
    connections: int
    duration_s: float
    warmup_s: float
    rate: float | None
    namespace: int


def build_requests(path: str, bodies: list[bytes], key: str, host: str) -> list[bytes]:
    """Full HTTP/1.1 POST requests (request line, headers, body), encoded once up front."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    ).encode()
    return [b"%s%d\r\n\r\n%s" % (head, len(body), body) for body in bodies]


class _ResponseError(Exception):
    """The response could not be framed (no length, bad status line)."""


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            with contextlib.suppress(asyncio.IncompleteReadError):
                while chunk != b"\r\n":  # skip trailers up to the final empty line
                    chunk = await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(chunk[:-2])


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, server-will-close) of one response; parses no more than that."""
    head = await reader.readuntil(b"\r\n\r\n")
    if head[:5] != b"HTTP/" or len(head) < 12:
        raise _ResponseError(head[:40])
    status = int(head[9:12])
    low = head.lower()
    start = low.find(b"\r\ncontent-length:")
    if start >= 0:
        start += 17
        length = int(head[start : low.find(b"\r\n", start)])
        body = await reader.readexactly(length) if length else b""
    elif b"\r\ntransfer-encoding: chunked" in low:
        body = await _read_chunked(reader)
    elif status in (204, 304) or 100 <= status < 200:
        body = b""
    else:
        raise _ResponseError(b"no content-length")
    return status, body, b"\r\nconnection: close" in low


def _duplicates(body: bytes) -> int:
    """`duplicates` from an ingest response, decoding JSON only when it is not plainly zero."""
    if b'"duplicates"' not in body or b'"duplicates":0,' in body or b'"duplicates":0}' in body:
        return 0
    try:
        value = msgspec.json.decode(body).get("duplicates", 0)
    except (msgspec.DecodeError, AttributeError):
        return 0
    return value if isinstance(value, int) else 0


class _Worker:
    """One process's event loop: its connections, its counters and its stamp sequence."""

    def __init__(self, plan: _Plan, requests: list[bytes]) -> None:
        self.plan = plan
        self.requests = requests
        self.slotted = [_SLOT in r for r in requests]
        self.device_slotted = [_DEVICE_SLOT in r for r in requests]
        self.result = LoadResult(duration_s=plan.duration_s)
        self.sent = 0
        self.next_slot = 0
        self.measure_start = self.end = 0.0

    def request(self, k: int, offset: int = 0) -> bytes:
        """The k-th request of the cycle of the connection that started at `offset`.

        Stamped with fresh event ids, and with the device stamp of the connection's pass.
        """
        size = len(self.requests)
        req = self.requests[k % size]
        if self.slotted[k % size]:
            stamp = b"%02x%02x%08x" % (self.plan.namespace, self.plan.index, self.sent)
            req = req.replace(_SLOT, stamp)
        if self.device_slotted[k % size]:
            passes = ((k - offset) // size) & 0xFFFF
            stamp = b"%02x%02x%04x%04x" % (
                self.plan.namespace,
                self.plan.index,
                offset & 0xFFFF,
                passes,
            )
            req = req.replace(_DEVICE_SLOT, stamp)
        self.sent += 1
        return req

    def record(self, status: int, body: bytes) -> None:
        """Count one response finished inside the window; status 0 is a transport error."""
        counts = self.result.status_counts
        counts[status] = counts.get(status, 0) + 1
        if 200 <= status < 300:
            self.result.requests_ok += 1
            self.result.duplicates += _duplicates(body)
        else:
            self.result.requests_failed += 1

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A new keep-alive connection to the server."""
        coro = asyncio.open_connection(self.plan.host, self.plan.port)
        return await asyncio.wait_for(coro, _CONNECT_TIMEOUT_S)

    async def exchange(self, conn: list[Any], req: bytes) -> tuple[int, bytes]:
        """Send one request on `conn` ([reader, writer]) and read its response."""
        reader, writer = conn
        try:
            writer.write(req)
            status, body, closing = await _read_response(reader)
        except (
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            _ResponseError,
            ValueError,
        ):
            status, body, closing = 0, b"", True
        if closing:
            writer.close()
            try:
                conn[:] = await self.connect()
            except (OSError, TimeoutError):
                await asyncio.sleep(0.05)  # keep a dead server from turning this into a spin
                with contextlib.suppress(OSError, TimeoutError):
                    conn[:] = await self.connect()
        return status, body

    async def closed_loop(self, conn: list[Any], offset: int) -> None:
        """Send back to back until the window ends; count responses finished inside it."""
        k = offset
        while time.monotonic() < self.end:
            status, body = await self.exchange(conn, self.request(k, offset))
            k += 1
            if self.measure_start <= time.monotonic() < self.end:
                self.record(status, body)

    async def open_loop(self, conn: list[Any], offset: int, t0: float) -> None:
        """Take the next slot of a fixed schedule; latency runs from the slot's time.

        A slot waits for a free connection when all are busy, and that wait is part of its
        latency, so a slow server cannot hide its queueing (no coordinated omission).
        """
        interval = self.plan.processes / self.plan.rate  # type: ignore[operator]
        phase = self.plan.index / self.plan.rate  # type: ignore[operator]
        k = offset
        while True:
            slot = self.next_slot
            self.next_slot += 1
            due = t0 + phase + slot * interval
            if due >= self.end:
                return
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent_at = time.monotonic()
            status, body = await self.exchange(conn, self.request(k, offset))
            done = time.monotonic()
            k += 1
            if due >= self.measure_start:
                self.record(status, body)
                if status:
                    # Measure from the slot, or from the send if the timer fired early.
                    self.result.latencies_ms.append((done - min(due, sent_at)) * 1000.0)

    async def run(self, barrier: Any) -> LoadResult:
        """Connect, wait for every process, run the window, then stop within the grace."""
        plan = self.plan
        conns: list[list[Any]] = [list(await self.connect()) for _ in range(plan.connections)]
        barrier.wait(60)  # all processes start their windows together
        cpu0 = time.process_time()
        t0 = time.monotonic()
        self.measure_start = t0 + plan.warmup_s
        self.end = self.measure_start + plan.duration_s
        total = plan.processes * plan.connections
        step = max(1, len(self.requests) // total)
        tasks = []
        for i, conn in enumerate(conns):
            offset = (plan.index * plan.connections + i) * step
            if plan.rate is None:
                tasks.append(asyncio.ensure_future(self.closed_loop(conn, offset)))
            else:
                tasks.append(asyncio.ensure_future(self.open_loop(conn, offset, t0)))
        _, late = await asyncio.wait(tasks, timeout=self.end - time.monotonic() + _GRACE_S)
        for task in late:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if plan.rate is not None:
            self._count_missed(t0)
        for _, writer in conns:
            writer.close()
        self.result.client_cpu_s = time.process_time() - cpu0
        self.result.client_wall_s = time.monotonic() - t0
        return self.result

    def _count_missed(self, t0: float) -> None:
        """Slots due inside the window that never got a response count as failures."""
        interval = self.plan.processes / self.plan.rate  # type: ignore[operator]
        phase = self.plan.index / self.plan.rate  # type: ignore[operator]
        first = max(0, int((self.measure_start - t0 - phase) // interval))
        while t0 + phase + first * interval < self.measure_start:
            first += 1
        last = first
        while t0 + phase + last * interval < self.end:
            last += 1
        done = self.result.requests_ok + self.result.requests_failed
        missed = (last - first) - done
        if missed > 0:
            self.result.requests_failed += missed
            self.result.status_counts[0] = self.result.status_counts.get(0, 0) + missed


def _worker_main(plan: _Plan, requests: list[bytes], barrier: Any, out: Any) -> None:
    """Entry point of one load process: run its loop and send back the result."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is absent on Windows
        pass
    try:
        result = asyncio.run(_Worker(plan, requests).run(barrier))
        out.put((plan.index, result, None))
    except BaseException as exc:  # report, never hang the parent
        with contextlib.suppress(Exception):
            barrier.abort()
        out.put((plan.index, None, f"{type(exc).__name__}: {exc}"))


def run_load(
    url_host: str,
    port: int,
    requests: list[bytes],
    *,
    processes: int,
    connections: int,
    duration_s: float,
    warmup_s: float,
    rate: float | None,
    id_namespace: int | None = None,
) -> LoadResult:
    """Drive a local server from `processes` spawned processes; closed loop, or open at `rate`.

    `connections` is per process. With `rate` (requests/s over all processes) requests are
    sent on a fixed schedule and `latencies_ms` holds one sample per response due inside
    the window. `id_namespace` (0-255, distinct per call against one server) goes into
    the event-id stamps; by default each call in this process takes the next one.
    """
    if url_host not in _LOCAL_HOSTS:
        raise ValueError("the load generator only targets 127.0.0.1")
    if not requests or processes < 1 or connections < 1 or duration_s <= 0 or warmup_s < 0:
        raise ValueError("need requests, processes >= 1, connections >= 1, duration_s > 0")
    if rate is not None and rate <= 0:
        raise ValueError("rate must be positive")
    namespace = next(_namespaces) if id_namespace is None else id_namespace
    if not 0 <= namespace < 256:
        raise ValueError("id_namespace must be 0..255 (two hex digits of the stamp)")
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    out = ctx.Queue()
    procs = []
    for index in range(processes):
        plan = _Plan(
            url_host, port, index, processes, connections, duration_s, warmup_s, rate, namespace
        )
        proc = ctx.Process(target=_worker_main, args=(plan, requests, barrier, out), daemon=True)
        proc.start()
        procs.append(proc)
    deadline = time.monotonic() + 60 + warmup_s + duration_s + _GRACE_S
    total = LoadResult(duration_s=duration_s)
    errors = []
    try:
        for _ in procs:
            try:
                _, result, error = out.get(timeout=max(1.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError("load processes did not report in time") from None
            if error:
                errors.append(error)
            else:
                total.merge(result)
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        out.close()
    if errors:
        raise RuntimeError("load process failed: " + "; ".join(errors))
    return total
