"""The read SQL written for DuckDB gives the same answers on ClickHouse (chDB).

`ClickHouseStore` runs queries with DuckDB's NULL semantics (settings) and DuckDB's time
functions (SQL functions), so the attribution export and the report queries are shared as they
are; costs live in ClickHouse behind a `costs` view. The replay has a ClickHouse dialect of its
own (`attribution.replay_clickhouse`), which must give the DuckDB replay's rows.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from attribo.api.attributions import _SQL as ATTRIBUTIONS_SQL
from attribo.attribution.live import LiveAttributor
from attribo.attribution.replay import replay_attribution
from attribo.attribution.settings import AttributionSettings, Windows
from attribo.events.record import StoredEvent
from attribo.metrics.query import AggregateRequest, run_aggregate
from attribo.store.costs import CostRow, CostSink
from attribo.store.duckdb import DuckDBStore
from attribo.store.schema import records_to_table

pytest.importorskip("chdb", reason="chdb is in the cluster extra")

T0 = 1_750_000_000_000  # 2025-06-15
DAY_MS = 86_400_000


def traffic(n: int, seed: int) -> list[StoredEvent]:
    """Touches, installs, opens and purchases of 60 devices over 20 days, attributed live."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        kind = rng.choice(["click", "click", "impression", "install", "open", "event"])
        device = rng.randrange(60)
        platform = "ios" if device % 2 else "android"
        touch = kind in ("click", "impression")
        with_id = not touch or rng.random() < 0.7
        records.append(
            StoredEvent(
                app_id="a",
                event_id=f"e{i}",
                type=kind,
                event_time=T0 + rng.randrange(20 * DAY_MS),
                received_at=T0 + i,
                platform=platform,
                idfa=f"i{device}" if platform == "ios" and with_id else None,
                gaid=f"g{device}" if platform == "android" and with_id else None,
                ip=f"10.0.0.{device % 7}",
                os_version="17",
                country=rng.choice(["US", "GB", None]),
                click_id=rng.choice([None, None, f"ck{device}"]) if kind != "impression" else None,
                network=rng.choice(["meta", "tiktok"]) if touch else None,
                campaign=rng.choice(["c1", "c2"]) if touch else None,
                seq=1_000 + i,
                name="purchase" if kind == "event" else None,
                revenue=round(rng.random() * 10, 2) if kind == "event" else None,
            )
        )
    LiveAttributor().observe(records)
    return records


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, object]]:
    from attribo.store.clickhouse import ClickHouseStore
    from attribo.store.clickhouse_costs import ClickHouseCostSink

    root: Path = tmp_path_factory.mktemp("parity")
    table = records_to_table(traffic(3_000, seed=3))
    duck = DuckDBStore(root / "events.duckdb")
    house = ClickHouseStore.from_url(f"chdb://{root / 'clickhouse'}", "parity")
    duck.write_events(table, "store", 1)
    house.write_events(table, "store", 1)
    costs = [
        CostRow(
            date=date(2025, 6, 15) + timedelta(days=day),
            app_id="a",
            network=network,
            campaign=campaign,
            spend=10.0 + day,
            currency="EUR" if network == "tiktok" else "USD",
            impressions=1_000 + day,
        )
        for day in range(20)
        for network in ("meta", "tiktok")
        for campaign in ("c1", "c2")
    ]
    CostSink(duck.side_cursor()).upsert(costs)
    ClickHouseCostSink(house).upsert(costs)
    yield duck, house
    duck.close()
    house.drop()
    house.close()


def test_attribution_export_is_identical(stores: tuple) -> None:
    duck, house = stores
    sql = ATTRIBUTIONS_SQL.format(
        time="AND event_time >= make_timestamp(? * 1000) AND event_time < make_timestamp(? * 1000)"
    )
    params = ["a", T0 + DAY_MS, T0 + 15 * DAY_MS]
    expected = duck.query(sql, params).to_pylist()
    assert len(expected) > 100
    assert any(row["status"] == "attributed" for row in expected)
    assert house.query(sql, params).to_pylist() == expected


@pytest.mark.parametrize(
    "metric",
    ["installs", "clicks", "impressions", "revenue", "ctr", "retention_d1", "cost", "cpm"],
)
@pytest.mark.parametrize("dimensions", [(), ("network",), ("country",), ("network", "campaign")])
def test_single_base_reports_are_identical(stores: tuple, metric: str, dimensions: tuple) -> None:
    assert_same_report(stores, (metric,), dimensions)


@pytest.mark.parametrize(
    "metrics",
    [("installs", "clicks", "conversion_rate"), ("cost", "installs", "cpi"),
     ("revenue", "cost", "roas", "arpu"), ("sessions", "retention_d1", "installs")],
)  # fmt: skip
@pytest.mark.parametrize(
    "dimensions",
    [(), ("network",), ("install_date",), ("network", "event_date:week"), ("install_date:month",)],
)
def test_reports_over_several_bases_and_dates_are_identical(
    stores: tuple, metrics: tuple, dimensions: tuple
) -> None:
    assert_same_report(stores, metrics, dimensions)


def assert_same_report(stores: tuple, metrics: tuple, dimensions: tuple) -> None:
    """DuckDB and ClickHouse give the same non-empty report for the request."""
    duck, house = stores
    request = AggregateRequest(
        app_id="a",
        metrics=metrics,
        date_from=date(2025, 6, 15),
        date_to=date(2025, 7, 10),
        dimensions=dimensions,
    )
    expected = run_aggregate(duck, request, rollups=False)
    assert expected["rows"]
    assert same(run_aggregate(house, request, rollups=False), expected)


def same(got: object, want: object) -> bool:
    """Equal, floats to 1e-9 relative (the engines add in different orders)."""
    if isinstance(want, float) and isinstance(got, float):
        return got == pytest.approx(want, rel=1e-9)
    if isinstance(want, dict) and isinstance(got, dict):
        return got.keys() == want.keys() and all(same(got[k], want[k]) for k in want)
    if isinstance(want, list) and isinstance(got, list):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want, strict=True))
    return got == want


def test_the_replay_is_identical(stores: tuple) -> None:
    duck, house = stores
    settings = AttributionSettings(windows=Windows(click_ms=DAY_MS, view_ms=3_600_000))
    for rules in (AttributionSettings(), settings):  # the live rules, and a what-if
        expected = replay_attribution(duck, rules, "a").to_pylist()
        assert len(expected) > 100
        assert replay_attribution(house, rules, "a").to_pylist() == expected
        assert replay_attribution(house, rules).to_pylist() == expected  # every app: one here


def test_rebuild_runs_on_the_cluster_profile(tmp_path: Path) -> None:
    """`attribo attribute --rebuild` on a chDB store: the live decisions, and a what-if."""
    url = f"chdb://{tmp_path / 'clickhouse'}"
    records = traffic(1_500, seed=8)
    pq.write_table(records_to_table(records), tmp_path / "events.parquet")
    # chDB opens one path per process (this one holds the module's): store them from another.
    load = (
        "import sys, pyarrow.parquet as pq\n"
        "from attribo.store.clickhouse import ClickHouseStore\n"
        "s = ClickHouseStore.from_url(sys.argv[1], 'rebuild')\n"
        "s.write_events(pq.read_table(sys.argv[2]), 'store', 1)\n"
        "s.close()\n"
    )
    subprocess.run(
        [sys.executable, "-c", load, url, str(tmp_path / "events.parquet")], check=True, timeout=120
    )
    what_if = tmp_path / "what-if.toml"
    what_if.write_text("click_hours = 1\n")
    env = {
        **os.environ,
        "ATTRIBO_PROFILE": "cluster",
        "ATTRIBO_CLICKHOUSE_URL": url,
        "ATTRIBO_NAMESPACE": "rebuild",
    }
    summaries = []
    for extra in ([], ["--settings", str(what_if)]):
        run = subprocess.run(
            [sys.executable, "-m", "attribo", "attribute", "--rebuild", "--data-dir",
             str(tmp_path / "data"), "--out", str(tmp_path / "rows.parquet"), *extra],
            capture_output=True, text=True, timeout=120, env=env, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        summaries.append(json.loads(run.stdout))
    installs = sum(r.type == "install" for r in records)
    assert summaries[0]["installs"] == installs > 100
    assert summaries[0]["changed_vs_live"] == 0
    assert summaries[1]["changed_vs_live"] > 0  # a one-hour click window moves decisions
    assert pq.read_table(tmp_path / "rows.parquet").num_rows == installs
