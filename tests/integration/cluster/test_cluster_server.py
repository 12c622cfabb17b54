"""`attribo serve --profile cluster` end to end on the machine's NATS, PostgreSQL and Redis.

The same traffic, hand-made and simulated, through an embedded and a cluster server gives the
same attributions and reports; a server killed with SIGKILL mid-stream loses no acknowledged
event and stores none twice.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from cluster_services import cluster_env, drop_namespace, service_missing
from cluster_traffic import REPORTED, attributions, report, send, send_batches, traffic

from attribo.bench.server import ServerProcess
from attribo.demo import send_costs
from attribo.sim import SimRun, load_params
from attribo.sim.send import send_batches as send_sim_batches
from helpers import export, make_event

pytest.importorskip("chdb", reason="chdb is in the cluster extra")
pytest.importorskip("nats", reason="nats-py is in the cluster extra")


@pytest.fixture(params=["app"])
def cluster_server(
    namespace: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[ServerProcess]:
    """A cluster server; the param: how its stream is partitioned (`app`, `device`), and
    `+redis-cluster` for its hot state on a Redis Cluster instead of one server."""
    data = tmp_path / "cluster"
    partition_by, _, redis = str(request.param).partition("+")
    env = {**cluster_env(namespace, str(data)), "ATTRIBO_PARTITION_BY": partition_by}
    if redis == "redis-cluster":
        env["ATTRIBO_REDIS_URL"] = str(request.getfixturevalue("redis_cluster_url"))
    server = ServerProcess(data, env=env)
    try:
        server.start()
    except RuntimeError as exc:
        log = (tmp_path / f"server-{server.port}.log").read_text(errors="replace")[-2000:]
        service_missing(f"cluster server did not start ({exc}); are the services up?\n{log}")
    try:
        yield server
    finally:
        server.kill()
        drop_namespace(namespace, env["ATTRIBO_REDIS_URL"])


def test_cluster_and_embedded_agree_on_the_same_traffic(
    cluster_server: ServerProcess, tmp_path: Path
) -> None:
    events = traffic("same.app", seed=11)
    embedded = ServerProcess(tmp_path / "embedded").start()
    try:
        answers = {}
        today = time.strftime("%Y-%m-%d", time.gmtime())
        costs = [
            {"date": today, "app_id": "same.app", "network": network, "campaign": "c1",
             "spend": spend, "currency": currency, "impressions": 1000}
            for network, spend, currency in (("meta", 120.5, "USD"), ("tiktok", 80.0, "EUR"))
        ]  # fmt: skip
        for server in (embedded, cluster_server):
            key = server.create_app("same.app")["ingest_key"]
            answers[server] = send(server, key, events)
            uploaded = httpx.post(
                f"{server.url}/v1/costs",
                json={"rows": costs},
                headers={"Authorization": f"Bearer {server.admin_key()}"},
            )
            assert uploaded.json() == {"rows": 2, "inserted": 2, "replaced": 0}, uploaded.text
        assert answers[embedded] == answers[cluster_server]  # live answers, install by install
        assert any(
            a.get("attribution", {}).get("status") == "attributed" for a in answers[embedded]
        )
        expected = attributions(embedded, "same.app")
        assert len(expected) == sum(e["type"] == "install" for e in events)
        assert attributions(cluster_server, "same.app") == expected
        for metric in REPORTED:
            expected_report = report(embedded, "same.app", metric)
            assert expected_report["rows"], metric
            assert report(cluster_server, "same.app", metric) == expected_report
    finally:
        assert embedded.stop() == 0


SIM_APPS = ("sim.a", "sim.b")
SIM_METRICS = (
    "installs,clicks,impressions,revenue,cost,cpi,roas,sessions,retention_d1,conversion_rate"
)


@pytest.mark.parametrize("cluster_server", ["app", "device", "device+redis-cluster"], indirect=True)
def test_simulated_traffic_gives_the_same_attributions_and_reports(
    cluster_server: ServerProcess, tmp_path: Path
) -> None:
    """A simulated week (two apps, fraud, spend) through both profiles gives the same answers,
    whether the cluster's stream is partitioned by app or by device, its hot state on one
    Redis server or on a Redis Cluster."""
    params = load_params(installs=300, days=6, seed=23, app_ids=SIM_APPS, start=date(2026, 11, 2))
    embedded = ServerProcess(tmp_path / "embedded").start()
    try:
        with SimRun(params) as run:
            batches = list(run.event_batches())
            costs = run.cost_rows()
        sent = {}
        for server in (embedded, cluster_server):
            made = {app: server.create_app(app) for app in SIM_APPS}
            sent[server] = send_sim_batches(
                batches,
                server.url,
                {app: made[app]["ingest_key"] for app in SIM_APPS},
                {app: made[app]["signing_secret"] for app in SIM_APPS},
            )
            send_costs(server.url, server.admin_key(), costs)
        assert sent[embedded].accepted > 2_000 and not sent[embedded].errors
        assert sent[cluster_server] == sent[embedded]
        for app in SIM_APPS:
            expected = attributions(embedded, app)
            assert sum(r["status"] == "attributed" for r in expected) > 50, app
            assert attributions(cluster_server, app) == expected, app
            query = {
                "app_id": app,
                "metrics": SIM_METRICS,
                "dimensions": "network,campaign",
                "from": "2026-11-02",
                "to": "2026-11-07",
            }
            reports = [
                httpx.get(
                    f"{server.url}/v1/reports/aggregate",
                    params=query,
                    headers={"Authorization": f"Bearer {server.admin_key()}"},
                    timeout=60,
                )
                for server in (embedded, cluster_server)
            ]
            assert all(r.status_code == 200 for r in reports), [r.text for r in reports]
            assert len(reports[0].json()["rows"]) > 3, app
            assert reports[1].json() == reports[0].json(), app
    finally:
        assert embedded.stop() == 0


@pytest.mark.slow
def test_sigkill_mid_stream_loses_nothing_acknowledged(cluster_server: ServerProcess) -> None:
    rng = random.Random(8)
    app = cluster_server.create_app("crash.app")
    acked: set[str] = set()
    lock = threading.Lock()
    for cycle in range(3):
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=send_batches,
                args=(cluster_server.url, app["ingest_key"], f"c{cycle}t{n}", acked, lock, stop),
            )
            for n in range(3)
        ]
        for thread in threads:
            thread.start()
        time.sleep(rng.uniform(0.5, 1.5))
        cluster_server.kill()  # collector, pipeline and API die together
        stop.set()
        for thread in threads:
            thread.join(30)
        cluster_server.start()
    rows = export(cluster_server, cluster_server.admin_key(), "crash.app")
    stored = [r["event_id"] for r in rows]
    assert len(stored) == len(set(stored)), "an event was stored twice"
    missing = acked - set(stored)
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:5]}"
    assert len(acked) > 500, "the load was too light to mean anything"
    # Redis still knows the acknowledged ids: repeats are recognised after the restarts.
    sample = sorted(acked)[:50]
    again = httpx.post(
        f"{cluster_server.url}/v1/events/batch",
        json={"events": [make_event("crash.app", event_id) for event_id in sample]},
        headers={"Authorization": f"Bearer {app['ingest_key']}"},
    ).json()
    assert again == {"accepted": 50, "duplicates": 50}
    assert cluster_server.stop() == 0
