"""`run_sim_bench`: how fast the simulator generates and writes a run (for `attribo bench`)."""

from __future__ import annotations

import resource
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from attribo.sim.output import simulate
from attribo.sim.params import load_params


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run_sim_bench(installs: int = 1_000_000, seed: int = 7, days: int = 30) -> dict[str, Any]:
    """Generate `installs` installs with all their events into a temp dir; time it."""
    params = load_params(installs=installs, seed=seed, days=days, start=date(2025, 1, 1))
    with tempfile.TemporaryDirectory(prefix="attribo-sim-bench-") as out:
        summary = simulate(params, Path(out))
    return {
        "installs": summary.installs,
        "events": summary.events,
        "seconds": round(summary.seconds, 2),
        "events_per_s": round(summary.events / summary.seconds) if summary.seconds else 0,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
