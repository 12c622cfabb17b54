"""`attribo bench attribution --quick --json`: one JSON object with the issue's figures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_quick_attribution_bench_prints_one_json_object() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "attribo", "bench", "attribution", "--quick", "--json"],
        capture_output=True,
        timeout=280,
        check=True,
    )
    [line] = run.stdout.decode().strip().splitlines()
    result = json.loads(line)
    for key in ("installs_per_s", "live_p50_ms", "live_p99_ms", "peak_rss_mb"):
        assert result[key] > 0, key
    assert result["installs"] == 50_000 and result["live_failed"] == 0
    assert result["replay_statuses"]["attributed"] > 0
    assert result["live_p50_ms"] <= result["live_p99_ms"]
