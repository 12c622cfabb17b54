"""`attribo bench ingest --quick --json` end to end: one JSON object, sane and honest numbers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

KEYS = {
    "batch_events_per_s",
    "batch_stored_events_per_s",
    "single_req_per_s",
    "p50_ms",
    "p99_ms",
    "baseline_events_per_s",
}


@pytest.mark.slow
def test_quick_bench_prints_one_json_object() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "attribo", "bench", "ingest", "--quick", "--json"],
        capture_output=True,
        timeout=280,
        check=True,
    )
    lines = run.stdout.decode().strip().splitlines()
    assert len(lines) == 1, run.stdout
    result = json.loads(lines[0])
    assert result.keys() >= KEYS
    for key in KEYS:
        assert result[key] > 0, key
    assert result["p50_ms"] <= result["p99_ms"]
    # Every request answered 2xx and no event id was ever sent twice.
    assert result["failed_requests"] == 0
    assert result["duplicates"] == 0
    # The server's GC pauses over the run come from its /health.
    assert result["gc_pause_max_ms"] > 0 and result["gc_pauses_over_10ms"] >= 0
    # Storing cannot outrun accepting: the end-to-end rate includes the drain.
    assert result["batch_stored_events_per_s"] <= result["batch_events_per_s"] * 1.5


@pytest.mark.slow
def test_quick_cluster_bench_measures_one_and_two_collectors() -> None:
    pytest.importorskip("chdb", reason="chdb is in the cluster extra")
    run = subprocess.run(
        [sys.executable, "-m", "attribo", "bench", "ingest", "--quick", "--json",
         "--profile", "cluster"],
        capture_output=True,
        timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr.decode()[-3000:]
    result = json.loads(run.stdout.decode().strip().splitlines()[-1])
    assert result["profile"] == "cluster"
    assert set(result["by_collectors"]) == {"1", "2"}
    for figures in result["by_collectors"].values():
        for key in ("batch_events_per_s", "batch_stored_events_per_s", "single_req_per_s"):
            assert figures[key] > 0, key
        assert figures["p50_ms"] <= figures["p99_ms"]
    assert result["by_collectors"]["2"]["failed_requests"] == 0
    assert result["by_collectors"]["2"]["duplicates"] == 0
    assert result["failed_requests"] == 0 and result["duplicates"] == 0
