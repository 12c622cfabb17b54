"""The post-attribution rescan and the fraud report over simulated days, through HTTP."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from attribo.bench.server import ServerProcess, create_key, http_json
from attribo.demo import send_costs
from attribo.sim import SimRun, load_params
from attribo.sim.send import send_batches
from helpers import wait_stored

APP = "fraud.week"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server (no live fraud check) holding five simulated days of one app."""
    data_dir = tmp_path_factory.mktemp("fraud") / "data"
    server = ServerProcess(data_dir).start()
    try:
        made = server.create_app(APP)
        params = load_params(installs=2000, days=5, seed=29, app_ids=(APP,), start=date(2026, 9, 1))
        with SimRun(params) as run:
            sent = send_batches(
                run.event_batches(),
                server.url,
                {APP: made["ingest_key"]},
                {APP: made["signing_secret"]},
            )
            assert not sent.errors or all("401" in str(e) for e in sent.errors)
            costs = run.cost_rows()
        send_costs(server.url, server.admin_key(), costs)
        wait_stored(server)
        yield server
    finally:
        server.stop()


def test_rescan_needs_an_admin_key(loaded: ServerProcess) -> None:
    analyst = create_key(loaded.data_dir, "analyst", APP, env=loaded.env)
    status, _ = http_json("POST", f"{loaded.url}/v1/fraud/rescan?app_id={APP}", {}, analyst)
    assert status == 403
    status, _ = http_json(
        "POST", f"{loaded.url}/v1/fraud/rescan?app_id=nope", {}, loaded.admin_key()
    )
    assert status == 404


def test_rescan_then_report_blocked_installs_spend_and_ctit(loaded: ServerProcess) -> None:
    admin = loaded.admin_key()
    status, counts = http_json("POST", f"{loaded.url}/v1/fraud/rescan?app_id={APP}", {}, admin)
    assert status == 200, counts
    assert counts["installs"] > 1500 and 0 < counts["rejected"] < counts["installs"] * 0.3
    analyst = create_key(loaded.data_dir, "analyst", APP, env=loaded.env)
    status, report = http_json("GET", f"{loaded.url}/v1/reports/fraud?app_id={APP}", None, analyst)
    assert status == 200, report
    assert report["blocked_installs"] >= counts["rejected"]
    networks = {row["network"]: row for row in report["by_network"]}
    assert "clickhub_media" in networks  # the simulator's fraudulent source
    fraud_net = networks["clickhub_media"]
    assert fraud_net["blocked_installs"] > 0 and fraud_net["blocked_spend"] > 0
    assert sum(r["blocked_installs"] for r in report["by_reason"]) == report["blocked_installs"]
    assert sum(r["blocked_installs"] for r in report["by_site"]) == report["blocked_installs"]
    assert abs(sum(r["blocked_spend"] for r in report["by_campaign"]) - report["blocked_spend"]) < 1
    # Per-source CTIT histograms: the flood's flat tail shows against an honest network.
    hist = {(h["network"], h["site_id"]): h for h in report["ctit_histograms"]}
    edges = report["ctit_edges_s"]
    assert all(len(h["counts"]) == len(edges) - 1 for h in hist.values())
    assert all(sum(h["counts"]) == h["installs"] for h in hist.values())
    # Nothing was blocked live here: the rescan relabels, and the audit log keeps which and why.
    assert counts["newly_blocked"] > 0
    status, entries = http_json("GET", f"{loaded.url}/v1/audit?app_id={APP}", None, admin)
    assert status == 200, entries
    relabels = [e for e in entries["entries"] if e["action"] == "fraud.relabel"]
    assert relabels and relabels[0]["details"]["blocked"] == counts["newly_blocked"]
    # The relabel is stored: the attribution export and the metrics layer show them blocked,
    # and a second rescan finds nothing new to block.
    status, rows = http_json(
        "GET",
        f"{loaded.url}/v1/reports/aggregate?app_id={APP}&metrics=installs,blocked_installs"
        "&from=2026-08-20&to=2026-09-30",
        None,
        analyst,
    )
    assert status == 200, rows
    assert rows["totals"]["blocked_installs"] == counts["newly_blocked"]
    export = httpx.get(
        f"{loaded.url}/v1/attributions",
        params={"app_id": APP, "format": "csv"},
        headers={"Authorization": f"Bearer {analyst}"},
    ).text
    statuses = [row["status"] for row in csv.DictReader(io.StringIO(export))]
    assert statuses.count("blocked") == counts["newly_blocked"]
    status, again = http_json("POST", f"{loaded.url}/v1/fraud/rescan?app_id={APP}", {}, admin)
    assert status == 200 and again["newly_blocked"] == 0
