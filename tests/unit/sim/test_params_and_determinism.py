"""Parameters (defaults, TOML overrides, validation), determinism, and scenario plug-ins."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from attribo.sim import SimRun, load_params, simulate
from attribo.sim.engine import plan_chunks

SMALL = {"installs": 3_000, "days": 7, "start": date(2025, 2, 3)}


def _digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_same_seed_gives_byte_identical_files(tmp_path):
    params = load_params(seed=3, **SMALL)
    simulate(params, tmp_path / "a")
    simulate(params, tmp_path / "b")
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert set(a) == {"events.jsonl", "costs.jsonl", "truth.parquet", "signatures.parquet"}
    assert a == b


def test_different_seed_gives_different_files(tmp_path):
    simulate(load_params(seed=3, **SMALL), tmp_path / "a")
    simulate(load_params(seed=4, **SMALL), tmp_path / "b")
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert a["events.jsonl"] != b["events.jsonl"]
    assert a["truth.parquet"] != b["truth.parquet"]


def test_parquet_events_hold_the_same_events(tmp_path):
    params = load_params(seed=5, **SMALL)
    jsonl = simulate(params, tmp_path / "j")
    parquet = simulate(params, tmp_path / "p", fmt="parquet")
    table = pq.read_table(parquet.files["events"])
    lines = Path(jsonl.files["events"]).read_bytes().splitlines()
    assert table.num_rows == len(lines) == jsonl.events
    assert table.column("timestamp").to_pylist() == sorted(table.column("timestamp").to_pylist())


def test_toml_overrides_nested_and_catalogue_fields(tmp_path):
    config = tmp_path / "sim.toml"
    config.write_text(
        'installs = 1234\napp_ids = ["a.one", "a.two", "a.three"]\nstart = 2024-05-01\n'
        "[retention]\nd1 = 0.4\n[fraud]\nbot_share = 0.02\n[networks.meta]\ncpi_usd = 9.5\n"
    )
    params = load_params(config, seed=9)
    assert params.installs == 1234 and params.seed == 9
    assert params.app_ids == ("a.one", "a.two", "a.three")
    assert params.start == date(2024, 5, 1)
    assert params.retention.d1 == 0.4 and params.fraud.bot_share == 0.02
    assert next(n for n in params.networks if n.name == "meta").cpi_usd == 9.5
    assert next(n for n in params.networks if n.name == "tiktok").cpi_usd == 2.2


@pytest.mark.parametrize(
    "text",
    ["instals = 5\n", "[fraud]\nbot_shar = 1\n", "[networks.myspace]\nshare = 1\n", "days = 0\n"],
)
def test_bad_toml_fails_loudly(tmp_path, text):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(ValueError):
        load_params(config)


def test_default_start_ends_the_period_today():
    params = load_params(days=30)
    today = datetime.now(UTC).date()
    assert params.start_date() in (today - timedelta(days=30), today - timedelta(days=31))


def test_chunks_cover_every_install_with_weekend_lift():
    params = load_params(installs=70_000, days=7, start=date(2025, 2, 3), chunk_installs=4_000)
    plans = plan_chunks(params)
    assert sum(p.installs for p in plans) == 70_000
    assert max(p.installs for p in plans) <= 4_000
    per_day = [sum(p.installs for p in plans if p.day == d) for d in range(7)]
    assert per_day[5] > per_day[0] * 1.1  # 2025-02-08 is a Saturday


def test_scenarios_are_pluggable_and_fraud_free_when_left_out():
    params = load_params(seed=2, scenarios=("genuine",), **SMALL)
    with SimRun(params) as run:
        kinds = set(pq.read_table(run.truth_path).column("fraud_kind").to_pylist())
        batches = list(run.event_batches(200))
    assert kinds == {None}
    assert all(b.signature in ("none", "good") for b in batches)
    assert all(len(b.lines) <= 200 for b in batches)
    assert {b.app_id for b in batches} == set(params.app_ids)
    with pytest.raises(ValueError, match="unknown scenarios"):
        load_params(scenarios=("genuine", "martians"), **SMALL)
