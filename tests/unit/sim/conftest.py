"""One simulated month shared by the simulator's tests (generated once per session)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from attribo.sim import SimParams, SimSummary, load_params, simulate

START = date(2025, 3, 1)


@dataclass
class SimRunFiles:
    """A written run, decoded for the tests."""

    params: SimParams
    summary: SimSummary
    lines: list[bytes]
    events: list[dict]
    truth: pa.Table
    costs: list[dict]


@pytest.fixture(scope="session")
def run(tmp_path_factory: pytest.TempPathFactory) -> SimRunFiles:
    """30,000 installs over 30 days with every scenario on."""
    params = load_params(installs=30_000, start=START, seed=11)
    out = tmp_path_factory.mktemp("sim")
    summary = simulate(params, out)
    lines = Path(summary.files["events"]).read_bytes().splitlines()
    events = msgspec.json.decode(b"[" + b",".join(lines) + b"]")
    costs = [msgspec.json.decode(x) for x in Path(summary.files["costs"]).read_bytes().splitlines()]
    return SimRunFiles(params, summary, lines, events, pq.read_table(summary.files["truth"]), costs)
