"""`attribo bench ingest`: ingest throughput and latency of a server, next to a baseline.

Each server runs in its own subprocess on 127.0.0.1 with its own temp data dir and is
driven by `loadgen` processes. Per server: (a) peak with 500-event batches, closed loop
(for ours, /health is then polled until the store has caught up with the log, which gives
the end-to-end stored rate); (b) peak with single events, closed loop; (c) for the server
under test, single events at 70 % of (b) on a fixed schedule, giving p50/p99. The baseline
(FastAPI + pydantic + DuckDB, `baseline.py`) gets (a) and (b) in the same run.

No event id repeats within a run: templates carry `loadgen.ID_SLOT` in their event ids
and the load processes stamp each send uniquely (see `loadgen`), so a pool of 20,000
pre-encoded events is enough however long the run, at the cost of one `bytes.replace`
per request. Device and click ids carry `loadgen.DEVICE_SLOT`, stamped per pass over the
pool, so the server sees new devices as the run goes on, as in real traffic. The server's
reported `duplicates` are summed and returned to prove it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from attribo.bench.loadgen import DEVICE_SLOT, ID_SLOT, LoadResult, build_requests, run_load
from attribo.bench.server import create_key, free_port, http_json
from attribo.bench.traffic import encode_batches, encode_singles, make_events
from attribo.config import Settings

HOST = "127.0.0.1"
BASELINE_KEY = "bench-baseline-ingest-key"
BENCH_APP_ID = "bench"
POOL_EVENTS = 20_000
BATCH_SIZE = 500
LATENCY_LOAD = 0.70
_BASE_ID_CHARS = 20  # random hex kept from each event id; the slot supplies the rest
_SLOT_CHARS = len(DEVICE_SLOT)
_DEVICE_IDS = ("idfa", "idfv", "gaid", "android_id")
_START_TIMEOUT_S = 60.0


@dataclass
class ServerHandle:
    """A running server subprocess and what a client needs to talk to it."""

    port: int
    key: str
    app_id: str
    process: subprocess.Popen[bytes]
    log_path: Path | None = None

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM, wait for a clean shutdown, kill if it does not come."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass(frozen=True)
class Phase:
    """How long and how wide one load phase runs."""

    processes: int
    connections: int
    warmup_s: float
    duration_s: float


@dataclass(frozen=True)
class BenchConfig:
    """The three phases; `quick` shortens them for smoke runs."""

    batch: Phase
    single: Phase
    latency: Phase

    @classmethod
    def make(cls, quick: bool) -> BenchConfig:
        """Full run (about a minute per server) or quick (about 15 s)."""
        warm, dur = (1.0, 3.0) if quick else (2.0, 8.0)
        return cls(
            batch=Phase(2, 4, warm, dur),
            single=Phase(2, 16, warm, dur),
            # More connections than needed at the target rate, so that a slow response
            # rarely delays the next scheduled send (which would still be measured).
            latency=Phase(2, 32, 1.0, dur),
        )


@dataclass
class _Measured:
    """One server's numbers."""

    batch: LoadResult
    single: LoadResult
    latency: LoadResult | None = None
    latency_rate: float = 0.0
    stored_events_per_s: float | None = None
    phases: list[LoadResult] = field(default_factory=list)
    health: dict[str, Any] = field(default_factory=dict)  # at the end of the run


def _log_tail(path: Path | None, chars: int = 2000) -> str:
    if path is None or not path.exists():
        return ""
    return path.read_text(errors="replace")[-chars:]


def _spawn(cmd: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start a server with its output in a file (a full pipe would stall it)."""
    with log_path.open("wb") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def wait_healthy(handle: ServerHandle, timeout: float = _START_TIMEOUT_S) -> None:
    """Poll `GET /health` until 200; fail early if the process exits."""
    deadline = time.monotonic() + timeout
    url = f"http://{HOST}:{handle.port}/health"
    while time.monotonic() < deadline:
        if handle.process.poll() is not None:
            raise RuntimeError(f"server exited during start-up:\n{_log_tail(handle.log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    handle.stop()
    raise RuntimeError(f"server not healthy after {timeout:.0f} s:\n{_log_tail(handle.log_path)}")


def start_baseline(tmpdir: Path, port: int = 0) -> ServerHandle:
    """The FastAPI + pydantic + DuckDB baseline, ready to take load."""
    tmpdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    cmd = [sys.executable, "-m", "attribo.bench.baseline", "--host", HOST, "--port", str(port)]
    cmd += ["--db", str(tmpdir / "baseline.duckdb"), "--key", BASELINE_KEY]
    log_path = tmpdir / "server.log"
    handle = ServerHandle(port, BASELINE_KEY, BENCH_APP_ID, _spawn(cmd, log_path), log_path)
    wait_healthy(handle)
    return handle


def start_attribo(tmpdir: Path, port: int = 0, collectors: int = 1) -> ServerHandle:
    """Our server (`attribo serve`) with a fresh data dir, an admin key and a bench app.

    `collectors`: collector processes of the cluster profile's split (ignored embedded).
    """
    tmpdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    data_dir = ["--data-dir", str(tmpdir)]
    admin_key = create_key(tmpdir, "admin")
    cmd = [sys.executable, "-m", "attribo", "serve", "--host", HOST, "--port", str(port)]
    if collectors != 1:
        cmd += ["--collectors", str(collectors)]
    log_path = tmpdir / "server.log"
    handle = ServerHandle(port, "", BENCH_APP_ID, _spawn([*cmd, *data_dir], log_path), log_path)
    wait_healthy(handle)
    return _with_bench_app(handle, admin_key)


def _with_bench_app(handle: ServerHandle, admin_key: str) -> ServerHandle:
    """Create the bench app through `handle`; its ingest key goes into the handle."""
    port = handle.port
    app = {
        "app_id": BENCH_APP_ID,
        "name": "Bench",
        "store_urls": {
            "ios": "https://apps.apple.com/app/id1",
            "android": "https://play.google.com/store/apps/details?id=x",
        },
    }
    status, made = http_json("POST", f"http://{HOST}:{port}/v1/apps", app, admin_key)
    if status != 201:
        handle.stop()
        raise RuntimeError(f"could not create the bench app: {status} {made}")
    handle.key = made["ingest_key"]
    handle.app_id = made.get("app_id", BENCH_APP_ID)
    return handle


def _device_slotted(value: str) -> str:
    """An id whose last 12 characters are `DEVICE_SLOT` (a UUID stays a UUID once stamped)."""
    return (value[:-_SLOT_CHARS] if len(value) > _SLOT_CHARS else value) + DEVICE_SLOT


def slotted_bodies(app_id: str, seed: int = 1) -> tuple[list[bytes], list[bytes]]:
    """(batch bodies, single-event bodies): event ids end in `ID_SLOT`, device ids and
    click ids in `DEVICE_SLOT` (see `loadgen`: each pass over the pool is new devices)."""
    events = make_events(app_id, POOL_EVENTS, seed, int(time.time() * 1000))
    bases = set()
    for event in events:
        base = event["event_id"][:_BASE_ID_CHARS]
        bases.add(base)
        event["event_id"] = base + ID_SLOT
        device = event.get("device") or {}
        for name in _DEVICE_IDS:
            if device.get(name):
                device[name] = _device_slotted(device[name])
        for holder in (event, event.get("source") or {}):
            if holder.get("click_id"):
                holder["click_id"] = _device_slotted(holder["click_id"])
    if len(bases) != len(events):  # 80 random bits each: never, but cheap to be sure
        raise RuntimeError("event id prefixes collided; pick another seed")
    return encode_batches(events, BATCH_SIZE), encode_singles(events)


def _phase(handle: ServerHandle, requests: list[bytes], phase: Phase, rate: float | None) -> Any:
    return run_load(
        HOST,
        handle.port,
        requests,
        processes=phase.processes,
        connections=phase.connections,
        duration_s=phase.duration_s,
        warmup_s=phase.warmup_s,
        rate=rate,
    )


def measure_server(
    start: Callable[[Path, int], ServerHandle], tmpdir: Path, cfg: BenchConfig, latency: bool
) -> _Measured:
    """Start one server, run the phases against it, stop it."""
    handle = start(tmpdir, free_port())
    try:
        batch_bodies, single_bodies = slotted_bodies(handle.app_id)
        host = f"{HOST}:{handle.port}"
        batches = build_requests("/v1/events/batch", batch_bodies, handle.key, host)
        singles = build_requests("/v1/events", single_bodies, handle.key, host)
        before = _health(handle) if latency else None
        started = time.monotonic()
        batch = _phase(handle, batches, cfg.batch, None)
        stored_eps = None
        if before is not None:
            after = _wait_stored(handle)
            counter = "pipeline_stored" if "pipeline_stored" in after else "accepted"
            stored_eps = (after[counter] - before[counter]) / (time.monotonic() - started)
        single = _phase(handle, singles, cfg.single, None)
        out = _Measured(batch, single, phases=[batch, single], stored_events_per_s=stored_eps)
        if latency and single.ok_per_s > 0:
            out.latency_rate = LATENCY_LOAD * single.ok_per_s
            out.latency = _phase(handle, singles, cfg.latency, out.latency_rate)
            out.phases.append(out.latency)
            out.health = _health(handle)
        if handle.process.poll() is not None:
            raise RuntimeError(f"server died during the run:\n{_log_tail(handle.log_path)}")
        return out
    finally:
        handle.stop()


def _health(handle: ServerHandle) -> dict[str, Any]:
    _, body = http_json("GET", f"http://{HOST}:{handle.port}/health")
    result: dict[str, Any] = body
    return result


def _wait_stored(handle: ServerHandle, timeout_s: float = 300.0) -> dict[str, Any]:
    """Poll /health until the pipeline has written everything the log holds into the store."""
    deadline = time.monotonic() + timeout_s
    while (health := _health(handle))["pipeline_lag_bytes"] > 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"store still {health['pipeline_lag_bytes']} bytes behind")
        time.sleep(0.05)
    return health


def _round(x: float | None, nd: int = 1) -> float | None:
    return None if x is None else round(x, nd)


def run_ingest_bench(
    target: Callable[[Path, int], ServerHandle] | None = None, *, quick: bool = False
) -> dict[str, Any]:
    """Measure `target` (default: `attribo serve`) and the baseline; one JSON-able dict."""
    cfg = BenchConfig.make(quick)
    with tempfile.TemporaryDirectory(prefix="attribo-bench-") as tmp:
        ours = measure_server(target or start_attribo, Path(tmp) / "target", cfg, latency=True)
        base = measure_server(start_baseline, Path(tmp) / "baseline", cfg, latency=False)
    batch_eps = ours.batch.ok_per_s * BATCH_SIZE
    base_eps = base.batch.ok_per_s * BATCH_SIZE
    lat = ours.latency
    every = ours.phases + base.phases
    return {
        "batch_events_per_s": _round(batch_eps),
        # From the first batch sent until the store held every accepted event.
        "batch_stored_events_per_s": _round(ours.stored_events_per_s),
        "single_req_per_s": _round(ours.single.ok_per_s),
        "p50_ms": _round(lat.percentile(50) if lat else None, 2),
        "p99_ms": _round(lat.percentile(99) if lat else None, 2),
        "rate_for_latency_req_per_s": _round(ours.latency_rate),
        "latency_achieved_req_per_s": _round(lat.ok_per_s if lat else None),
        "baseline_events_per_s": _round(base_eps),
        "baseline_single_req_per_s": _round(base.single.ok_per_s),
        "ratio_batch_vs_baseline": _round(batch_eps / base_eps if base_eps else None, 2),
        # The server's longest cyclic-GC pause over the run: each one stalls the event loop.
        "gc_pause_max_ms": ours.health.get("gc_pause_max_ms"),
        "gc_pauses_over_10ms": ours.health.get("gc_pauses_over_10ms"),
        "failed_requests": sum(r.requests_failed for r in every),
        "duplicates": sum(r.duplicates for r in every),
        # Share of the machine's CPU the load processes took while they ran.
        "loadgen_cpu_share": _round(
            sum(r.client_cpu_s for r in every)
            / max(1e-9, sum(r.client_wall_s for r in every))
            / (os.cpu_count() or 1),
            3,
        ),
        "machine": {
            "cpu_count": os.cpu_count(),
            "cpus_usable": len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else None,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "quick": quick,
    }


def run_on_profile(
    settings: Settings, run: Callable[[], dict[str, Any]], quick: bool = False
) -> dict[str, Any]:
    """Run a bench on `settings.profile`; the cluster one in namespaces of its own, dropped after.

    The server processes inherit the profile through `ATTRIBO_*` variables; service URLs are
    the settings' (environment or defaults). On the cluster profile `run` measures `attribo
    serve` with one collector process; `by_collectors` adds the same phases with two, against
    a fresh stream and store.
    """
    if settings.profile != "cluster":
        return {**run(), "profile": settings.profile, "server_processes": 1}
    with _cluster_namespace(settings):
        result = run()
    figures = ("batch_events_per_s", "batch_stored_events_per_s", "single_req_per_s")
    split: dict[str, Any] = {"1": {k: result[k] for k in (*figures, "p50_ms", "p99_ms")}}
    with _cluster_namespace(settings):
        split["2"] = run_split_bench(2, quick)
    # `attribo serve` runs `attribo api` (with the worker) and the collectors (README).
    return {**result, "profile": "cluster", "server_processes": 2, "by_collectors": split}


@contextlib.contextmanager
def _cluster_namespace(settings: Settings) -> Iterator[None]:
    """`ATTRIBO_PROFILE=cluster` and a namespace of its own for the processes started inside."""
    from attribo.backends import drop_namespace

    namespace = f"bench_{os.getpid()}_{time.monotonic_ns()}"
    saved = {name: os.environ.get(name) for name in ("ATTRIBO_PROFILE", "ATTRIBO_NAMESPACE")}
    os.environ["ATTRIBO_PROFILE"] = "cluster"
    os.environ["ATTRIBO_NAMESPACE"] = namespace
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        drop_namespace(replace(settings, namespace=namespace))


def run_split_bench(collectors: int, quick: bool) -> dict[str, Any]:
    """`attribo serve --profile cluster --collectors N` under the same phases."""
    cfg = BenchConfig.make(quick)

    def start(tmpdir: Path, port: int) -> ServerHandle:
        return start_attribo(tmpdir, port, collectors)

    with tempfile.TemporaryDirectory(prefix="attribo-bench-split-") as tmp:
        m = measure_server(start, Path(tmp), cfg, latency=True)
    lat = m.latency
    return {
        "batch_events_per_s": _round(m.batch.ok_per_s * BATCH_SIZE),
        "batch_stored_events_per_s": _round(m.stored_events_per_s),
        "single_req_per_s": _round(m.single.ok_per_s),
        "p50_ms": _round(lat.percentile(50) if lat else None, 2),
        "p99_ms": _round(lat.percentile(99) if lat else None, 2),
        "failed_requests": sum(r.requests_failed for r in m.phases),
        "duplicates": sum(r.duplicates for r in m.phases),
    }


def main(argv: list[str] | None = None) -> None:
    """`python -m attribo.bench.ingest [--quick] [--target attribo|baseline]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--target", choices=["attribo", "baseline"], default="attribo")
    args = parser.parse_args(argv)
    target = start_baseline if args.target == "baseline" else start_attribo
    print(json.dumps(run_ingest_bench(target, quick=args.quick)))


if __name__ == "__main__":
    main()
