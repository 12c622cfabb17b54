"""A simulated month through the real server: live equals replay equals the oracle.

Traffic from `attribo.sim` is streamed into `attribo serve`; then, with the server stopped,
`attribo attribute --rebuild` must reproduce every live decision, the brute-force oracle
(the rules read literally, in `test_live_vs_replay`) must pick the same touch for every
install, and the ground truth says how often a fingerprint match found the causal touch.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import httpx
import pyarrow.parquet as pq
import pytest
from test_live_vs_replay import install_decisions, oracle

from attribo.attribution.settings import AttributionSettings
from attribo.bench.server import ServerProcess
from attribo.events.record import STORED_FIELDS, StoredEvent
from attribo.sim import SimRun, load_params
from attribo.sim.send import send_batches
from helpers import wait_stored

APPS = ("month.a", "month.b")


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    """A server's data directory after a simulated month, and the ground truth."""
    data_dir = tmp_path_factory.mktemp("month") / "data"
    params = load_params(installs=500, days=12, seed=11, app_ids=APPS, start=date(2026, 10, 1))
    server = ServerProcess(data_dir).start()
    try:
        made = {app: server.create_app(app) for app in APPS}
        with SimRun(params) as run:
            truth = pq.read_table(run.truth_path).to_pylist()
            report = send_batches(
                run.event_batches(),
                server.url,
                {app: made[app]["ingest_key"] for app in APPS},
                {app: made[app]["signing_secret"] for app in APPS},
            )
        assert report.accepted > 3_000 and not report.errors
        wait_stored(server)
    finally:
        assert server.stop() == 0
    return data_dir, truth


def stored(data_dir: Path) -> list[StoredEvent]:
    with duckdb.connect(str(data_dir / "events.duckdb"), read_only=True) as conn:
        columns = ", ".join(
            f"epoch_ms({f}) AS {f}" if f in ("event_time", "received_at") else f
            for f in STORED_FIELDS
        )
        rows = conn.execute(f"SELECT {columns} FROM events ORDER BY seq").fetchall()
    return [StoredEvent(*row) for row in rows]


def test_replay_reproduces_every_live_decision(month) -> None:
    data_dir, _ = month
    run = subprocess.run(
        [sys.executable, "-m", "attribo", "attribute", "--rebuild", "--data-dir", str(data_dir)],
        capture_output=True,
        check=True,
        timeout=120,
    )
    summary = json.loads(run.stdout)
    assert summary["installs"] > 300
    assert summary["by_match"].get("click_id", 0) > 0 and summary["by_match"].get("device", 0) > 0
    assert summary["changed_vs_live"] == 0


def test_a_what_if_with_shorter_windows_changes_decisions(month, tmp_path: Path) -> None:
    data_dir, _ = month
    rules = tmp_path / "rules.toml"
    rules.write_text("[attribution]\nclick_hours = 1\nview_hours = 1\n")
    out = tmp_path / "rows.parquet"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "attribo",
            "attribute",
            "--rebuild",
            "--data-dir",
            str(data_dir),
            "--settings",
            str(rules),
            "--out",
            str(out),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    summary = json.loads(run.stdout)
    assert summary["changed_vs_live"] > 0
    assert pq.read_table(out).num_rows == summary["installs"]


def test_live_decisions_equal_the_oracle_and_fingerprint_precision(month) -> None:
    data_dir, truth = month
    events = stored(data_dir)
    for app in APPS:
        records = [e for e in events if e.app_id == app]
        expected = oracle(records, AttributionSettings())
        assert install_decisions(records) == expected
    # Against the ground truth: deterministic matches find the causal touch; fingerprint
    # matches are probabilistic (shared carrier IPs), so their precision is measured.
    decided = {e.event_id: e for e in events if e.type == "install"}
    hits = {"click_id": [0, 0], "device": [0, 0], "fingerprint": [0, 0]}
    for row in truth:
        install = decided.get(row["install_event_id"])
        if install is None or install.match_type is None or row["is_fraud"]:
            continue
        tally = hits[install.match_type]
        tally[0] += install.touch_event_id == row["causal_touch_event_id"]
        tally[1] += 1
    precision = {k: (ok / n if n else None) for k, (ok, n) in hits.items()}
    print(f"\nshare of attributed installs credited to their causal touch: {precision}")
    assert precision["click_id"] is not None and precision["click_id"] >= 0.9
    assert precision["device"] is not None and precision["device"] >= 0.8


def test_multitouch_report_conserves_conversions_and_value(month) -> None:
    data_dir, _ = month
    server = ServerProcess(data_dir).start()
    try:
        auth = {"Authorization": f"Bearer {server.admin_key()}"}
        url = f"{server.url}/v1/reports/multitouch"
        totals = set()
        for model in (
            "first_touch",
            "last_touch",
            "linear",
            "time_decay",
            "position_based",
            "markov",
            "shapley",
        ):
            body = httpx.get(url, params={"app_id": APPS[0], "model": model}, headers=auth).json()
            assert body["conversions"] > 20, body
            assert sum(r["conversions"] for r in body["rows"]) == pytest.approx(body["conversions"])
            assert sum(r["value"] for r in body["rows"]) == pytest.approx(body["value"])
            totals.add((round(body["conversions"], 6), round(body["value"], 6)))
        assert len(totals) == 1  # every model shares out the same conversions and value
        order2 = httpx.get(
            url, params={"app_id": APPS[0], "model": "markov", "order": "2"}, headers=auth
        )
        assert order2.status_code == 200 and order2.json()["settings"]["order"] == 2
        bad = httpx.get(
            url, params={"app_id": APPS[0], "model": "linear", "order": "2"}, headers=auth
        )
        assert bad.status_code == 400 and bad.json()["detail"][0]["field"] == "order"
    finally:
        assert server.stop() == 0
