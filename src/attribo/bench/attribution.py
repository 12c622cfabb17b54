"""`attribo bench attribution`: replay speed at scale and live latency through HTTP.

Replay: a DuckDB file with `clicks` clicks and `installs` installs of one app (generated in
SQL: 2 devices per install, a tenth of clicks carrying a click id the install repeats), then
the rules-v1 replay query over all of it. Live: `attribo serve` on 127.0.0.1 gets 20,000 clicks,
then single installs of those devices at a fixed 1,000 a second from two load processes; the
latency of each answer (which carries the attribution) is measured from its scheduled time.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from attribo.attribution.replay import replay_attribution
from attribo.attribution.settings import DAY_MS, AttributionSettings
from attribo.bench.ingest import HOST, start_attribo
from attribo.bench.loadgen import ID_SLOT, build_requests, run_load
from attribo.bench.server import http_json
from attribo.sim.bench import peak_rss_mb
from attribo.store.duckdb import DuckDBStore
from attribo.store.match_keys import match_key_select

T0 = 1_760_000_000_000
_CLICKS = """
SELECT 'bench' AS app_id, 'c' || i AS event_id, 'click' AS type,
       make_timestamp(({t0} + (hash(i) % {span})::BIGINT) * 1000) AS event_time,
       make_timestamp({t0} * 1000) AS received_at, 'android' AS platform,
       'g' || (hash(i * 7) % {devices})::BIGINT AS gaid,
       'ip' || (hash(i * 7) % {devices})::BIGINT AS ip, '14' AS os_version,
       CASE WHEN i % 10 = 0 THEN 'k' || i END AS click_id, 'net' || (i % 7) AS network,
       'camp' || (i % 50) AS campaign, false AS signed,
       ({t0} + (hash(i) % {span})::BIGINT) * 1000 + i % 1000 AS seq
FROM range({clicks}) t(i)
"""
_INSTALLS = """
SELECT 'bench' AS app_id, 'i' || i AS event_id, 'install' AS type,
       make_timestamp(({t0} + {day} + (hash(i + 99) % {span})::BIGINT) * 1000) AS event_time,
       make_timestamp({t0} * 1000) AS received_at, 'android' AS platform,
       'g' || (i * 2) AS gaid, 'ip' || (i * 2 + 1) AS ip, '14' AS os_version,
       CASE WHEN i % 10 = 0 THEN 'k' || (i * 10) END AS click_id, false AS signed,
       ({t0} + {day} + (hash(i + 99) % {span})::BIGINT) * 1000 + 500 + i % 1000 AS seq,
       {t0} + {day} + (hash(i + 99) % {span})::BIGINT AS watermark
FROM range({installs}) t(i)
"""


def _insert(select: str) -> str:
    """Insert the rows of `select` with the match keys the store computes as it stores."""
    rows = f"SELECT *, NULL::VARCHAR AS idfa FROM ({select})"
    return f"INSERT INTO events BY NAME SELECT e.*, {match_key_select('e.')} FROM ({rows}) e"


def replay_speed(installs: int, clicks: int, work: Path) -> dict[str, Any]:
    """Build the store and time one full replay."""
    store = DuckDBStore(work / "replay.duckdb", threads=os.cpu_count() or 1)  # offline: all cores
    try:
        args = {"t0": T0, "span": 30 * DAY_MS, "devices": 2 * installs, "day": DAY_MS}
        conn = store.side_cursor()
        conn.execute(_insert(_CLICKS.format(clicks=clicks, **args)))
        conn.execute(_insert(_INSTALLS.format(installs=installs, **args)))
        started = time.perf_counter()
        table = replay_attribution(store, AttributionSettings(), "bench")
        seconds = time.perf_counter() - started
        statuses = table.column("status").value_counts().to_pylist()
    finally:
        store.close()
    return {
        "installs": table.num_rows,
        "clicks": clicks,
        "replay_s": round(seconds, 3),
        "installs_per_s": round(table.num_rows / seconds),
        "replay_statuses": {s["values"]: s["counts"] for s in statuses},
    }


def live_latency(work: Path, rate: float = 1000.0, duration_s: float = 8.0) -> dict[str, Any]:
    """Install answers through HTTP at a fixed rate, after the clicks they match."""
    handle = start_attribo(work / "live")
    try:
        rng = random.Random(5)
        now = int(time.time() * 1000)
        devices = [f"{rng.getrandbits(64):016x}-gaid" for _ in range(20_000)]
        clicks = [
            {
                "event_id": f"lc{i}",
                "type": "click",
                "app_id": handle.app_id,
                "timestamp": now - rng.randrange(3_600_000),
                "device": {"platform": "android", "gaid": gaid, "ip": "81.2.69.160"},
                "source": {"network": f"net{i % 7}", "campaign": "c1"},
            }
            for i, gaid in enumerate(devices)
        ]
        url = f"http://{HOST}:{handle.port}/v1/events/batch"
        for start in range(0, len(clicks), 1000):
            status, body = http_json(
                "POST", url, {"events": clicks[start : start + 1000]}, handle.key
            )
            if status != 200:
                raise RuntimeError(f"clicks refused: {status} {body}")
        bodies = [
            json.dumps(
                {
                    "event_id": f"li{i}-{ID_SLOT}",
                    "type": "install",
                    "app_id": handle.app_id,
                    "timestamp": now,
                    "device": {"platform": "android", "gaid": gaid, "ip": "81.2.69.160"},
                }
            ).encode()
            for i, gaid in enumerate(devices)
        ]
        requests = build_requests("/v1/events", bodies, handle.key, f"{HOST}:{handle.port}")
        result = run_load(
            HOST,
            handle.port,
            requests,
            processes=2,
            connections=16,
            duration_s=duration_s,
            warmup_s=1.0,
            rate=rate,
        )
    finally:
        handle.stop()
    return {
        "live_rate": rate,
        "live_achieved_per_s": round(result.ok_per_s, 1),
        "live_p50_ms": round(result.percentile(50) or 0.0, 2),
        "live_p99_ms": round(result.percentile(99) or 0.0, 2),
        "live_failed": result.requests_failed,
    }


def run_attribution_bench(
    installs: int = 1_000_000, clicks: int = 10_000_000, quick: bool = False
) -> dict[str, Any]:
    """Replay and live figures as one JSON-able dict."""
    if quick:
        installs, clicks = installs // 20, clicks // 20
    with tempfile.TemporaryDirectory(prefix="attribo-bench-attr-") as tmp:
        replay = replay_speed(installs, clicks, Path(tmp))
        rss = peak_rss_mb()
        live = live_latency(Path(tmp), duration_s=3.0 if quick else 8.0)
    return {**replay, **live, "peak_rss_mb": round(rss, 1), "quick": quick}
