"""The load generator against a real HTTP server (the FastAPI baseline) on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from attribo.bench.ingest import ServerHandle, slotted_bodies, start_baseline
from attribo.bench.loadgen import DEVICE_SLOT, _Plan, _Worker, build_requests, run_load

HOST = "127.0.0.1"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    handle = start_baseline(tmp_path_factory.mktemp("baseline"))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def singles(baseline: ServerHandle) -> list[bytes]:
    _, bodies = slotted_bodies(baseline.app_id)
    # Few templates on purpose: unique ids must come from the per-send stamps.
    return build_requests("/v1/events", bodies[:50], baseline.key, f"{HOST}:{baseline.port}")


def test_build_requests_frames_http() -> None:
    (req,) = build_requests("/v1/events", [b'{"a":1}'], "k1", "127.0.0.1:9")
    head, body = req.split(b"\r\n\r\n")
    assert head.startswith(b"POST /v1/events HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer k1" in head
    assert b"\r\nContent-Length: 7" in head
    assert body == b'{"a":1}'


def test_closed_loop(baseline: ServerHandle, singles: list[bytes]) -> None:
    result = run_load(
        HOST, baseline.port, singles, processes=2, connections=4, duration_s=1.0,
        warmup_s=0.3, rate=None,
    )  # fmt: skip
    assert result.requests_ok > 0
    assert result.requests_failed == 0
    assert set(result.status_counts) == {200}
    assert result.duplicates == 0
    assert result.ok_per_s == result.requests_ok / 1.0


def test_open_loop(baseline: ServerHandle, singles: list[bytes]) -> None:
    result = run_load(
        HOST, baseline.port, singles, processes=2, connections=8, duration_s=1.0,
        warmup_s=0.3, rate=100,
    )  # fmt: skip
    assert result.requests_failed == 0
    assert 90 <= result.requests_ok <= 110
    assert len(result.latencies_ms) == result.requests_ok
    p50, p99 = result.percentile(50), result.percentile(99)
    assert p50 is not None and p99 is not None and 0 < p50 <= p99


def test_batches_and_every_event_id_unique(baseline: ServerHandle, tmp_path: Path) -> None:
    bodies, _ = slotted_bodies(baseline.app_id)
    host = f"{HOST}:{baseline.port}"
    batches = build_requests("/v1/events/batch", bodies[:2], baseline.key, host)
    result = run_load(
        HOST, baseline.port, batches, processes=2, connections=2, duration_s=1.0,
        warmup_s=0.2, rate=None,
    )  # fmt: skip
    assert result.requests_ok > 2 and result.requests_failed == 0
    # Stop the module's server so DuckDB can be read; later tests in this module would fail.
    baseline.stop()
    db = baseline.log_path.parent / "baseline.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        total, distinct = con.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM events"
        ).fetchone()
    assert total > 2 * 500
    assert total == distinct


def test_only_local_targets() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        run_load("example.com", 80, [b"x"], processes=1, connections=1, duration_s=1,
                 warmup_s=0, rate=None)  # fmt: skip


def _stamped_devices(worker: _Worker, k: int, offset: int) -> set[str]:
    events = json.loads(worker.request(k, offset).split(b"\r\n\r\n", 1)[1])["events"]
    return {e["device"]["gaid"] for e in events if (e.get("device") or {}).get("gaid")}


def test_device_stamps_hold_within_a_pass_and_change_between() -> None:
    bodies, _ = slotted_bodies("bench")
    assert all(DEVICE_SLOT.encode() in b for b in bodies[:3])
    requests = build_requests("/v1/events/batch", bodies[:3], "k", "127.0.0.1:9")
    plan = _Plan(HOST, 9, 0, 1, 1, 1.0, 0.0, None, 7)
    worker = _Worker(plan, requests)
    offset = 1  # this connection's pass is requests 1, 2, 0, then again
    first = [_stamped_devices(worker, k, offset) for k in range(offset, offset + 3)]
    again = [_stamped_devices(worker, k, offset) for k in range(offset, offset + 3)]
    second = [_stamped_devices(worker, k, offset) for k in range(offset + 3, offset + 6)]
    assert first == again  # one pass: the same devices however often it is built
    stamps = {gaid[-12:] for devices in first for gaid in devices}
    assert len(stamps) == 1 and DEVICE_SLOT not in stamps
    assert all(a.isdisjoint(b) for a, b in zip(first, second, strict=True))
    other = _Worker(_Plan(HOST, 9, 1, 2, 1, 1.0, 0.0, None, 7), requests)
    assert _stamped_devices(other, 1, offset).isdisjoint(first[0])  # another process
