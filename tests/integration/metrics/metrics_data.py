"""Simulated traffic streamed through a real server, stored as DuckDB files to report on.

Two copies of the server's events file: `plain` as the server left it (no costs table) and
`costed` with the simulator's cost rows loaded into a `costs` table and some installs marked
`blocked` (fraud blocking is not built yet; the metrics layer must already keep them apart).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import httpx
import msgspec
import pandas as pd

from attribo.bench.server import ServerProcess
from attribo.sim import SimRun, load_params
from attribo.sim.send import send_batches
from attribo.store.costs import CostRow, create_costs_table, upsert_costs
from attribo.store.rollups import reset_rollups
from helpers import wait_stored

APP = "m.app"
START = date(2026, 10, 1)
DAYS = 35


@dataclass(frozen=True)
class ReportData:
    """Paths of the two DuckDB files and their contents read back with plain SELECTs."""

    plain: Path
    costed: Path
    events: pd.DataFrame  # of `costed` (with the blocked installs)
    plain_events: pd.DataFrame
    export: list[dict]  # GET /v1/attributions of the period, as the server answered
    costs: pd.DataFrame


# Spend some networks report only coarsely (no ad, or no campaign and country), in EUR.
COARSE_COSTS = [
    {"date": "2026-10-03", "app_id": APP, "network": "tiktok", "spend": 50.0, "currency": "EUR"},
    {
        "date": "2026-10-04",
        "app_id": APP,
        "network": "meta",
        "campaign": "meta_ua_broad_1",
        "country": "US",
        "spend": 12.5,
        "currency": "USD",
        "impressions": 900,
        "clicks": 20,
    },
]


def _load_costs(path: Path, rows: list[dict]) -> None:
    rows = [*rows, *COARSE_COSTS]
    with duckdb.connect(str(path)) as conn:
        create_costs_table(conn)
        upsert_costs(conn, msgspec.convert(rows, list[CostRow]))
        # Fraud blocking arrives later: block a third of the fraud network's installs here.
        conn.execute(
            "UPDATE events SET attribution = 'blocked' WHERE type = 'install'"
            " AND attributed_network = 'clickhub_media' AND hash(event_id) % 3 = 0"
        )
        reset_rollups(conn)  # stored events were rewritten: the server's rollups are stale


def _attributions(server: ServerProcess) -> list[dict]:
    end = date.fromordinal(START.toordinal() + DAYS)
    response = httpx.get(
        f"{server.url}/v1/attributions",
        params={"app_id": APP, "since": f"{START}T00:00:00Z", "until": f"{end}T00:00:00Z"},
        headers={"Authorization": f"Bearer {server.admin_key()}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines() if line]


def _read(path: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        return conn.execute(sql).df()


def build_report_data(root: Path) -> ReportData:
    """Stream the simulation into a server, stop it, and prepare both files under `root`."""
    data_dir = root / "data"
    params = load_params(installs=2000, days=DAYS, seed=3, app_ids=(APP,), start=START)
    server = ServerProcess(data_dir).start()
    try:
        made = server.create_app(APP)
        with SimRun(params) as run:
            report = send_batches(
                run.event_batches(),
                server.url,
                {APP: made["ingest_key"]},
                {APP: made["signing_secret"]},
            )
            cost_rows = run.cost_rows()
        assert report.accepted > 5_000 and not report.errors
        wait_stored(server)
        export = _attributions(server)
    finally:
        assert server.stop() == 0
    plain, costed = root / "plain.duckdb", root / "costed.duckdb"
    shutil.copy(data_dir / "events.duckdb", plain)
    shutil.copy(data_dir / "events.duckdb", costed)
    _load_costs(costed, cost_rows)
    with duckdb.connect(str(plain)) as conn:  # the server may create an empty one
        conn.execute("DROP TABLE IF EXISTS costs")
    costs = _read(costed, "SELECT * FROM costs")
    costs["date"] = costs["date"].dt.date
    return ReportData(
        plain=plain,
        costed=costed,
        events=_read(costed, "SELECT * FROM events"),
        plain_events=_read(plain, "SELECT * FROM events"),
        export=export,
        costs=costs,
    )
