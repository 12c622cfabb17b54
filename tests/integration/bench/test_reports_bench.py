"""`attribo bench reports --json` on a small store: one JSON object with the issue's figures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_small_reports_bench_prints_one_json_object() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "attribo", "bench", "reports", "--sizes", "200000", "--repeat", "3"],
        capture_output=True,
        timeout=280,
        check=True,
    )
    [line] = run.stdout.decode().strip().splitlines()
    result = json.loads(line)
    size = result["sizes"]["200000"]
    assert size["events"] == 200_000 and size["installs"] == 10_000
    assert 0 < result["p50_ms"] <= result["p95_ms"] == size["p95_ms"]
    assert set(size["queries"]) >= {"overview_kpis", "campaigns_table", "cohort_retention"}
    for figures in size["queries"].values():
        assert 0 < figures["p50_ms"] <= figures["p95_ms"]
        assert figures["raw_p50_ms"] > 0
    assert size["raw_p50_ms"] > 0 and size["speedup_p50"] > 0 and result["peak_rss_mb"] > 0
