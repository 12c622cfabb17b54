"""The aggregate report through the real server: attributed installs, cost, CPI; errors."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from attribo.bench.server import ServerProcess, create_key, http_json
from helpers import make_event, now_ms, wait_stored


def test_installs_cost_and_cpi_by_network(server: ServerProcess) -> None:
    app = server.create_app("rep-app")
    admin = server.admin_key()
    status, link = http_json(
        "POST", f"{server.url}/v1/links", {"app_id": "rep-app", "network": "meta"}, admin
    )
    assert status == 201
    ingest = {"Authorization": f"Bearer {app['ingest_key']}"}
    for n in range(3):
        httpx.get(link["click_url"], params={"gaid": f"GA-{n}"})
        install = make_event("rep-app", f"i{n}", device={"platform": "android", "gaid": f"ga-{n}"})
        httpx.post(f"{server.url}/v1/events", json=install, headers=ingest)
    organic = make_event("rep-app", "i-org", device={"platform": "ios", "idfa": "x"})
    httpx.post(f"{server.url}/v1/events", json=organic, headers=ingest)
    today = datetime.fromtimestamp(now_ms() / 1000, UTC).date().isoformat()
    cost = {
        "rows": [
            {
                "date": today,
                "app_id": "rep-app",
                "network": "meta",
                "spend": 30.0,
                "currency": "USD",
                "impressions": 1000,
                "clicks": 10,
            }
        ]
    }
    assert (
        httpx.post(
            f"{server.url}/v1/costs", json=cost, headers={"Authorization": f"Bearer {admin}"}
        ).status_code
        == 200
    )
    wait_stored(server)

    analyst = {"Authorization": f"Bearer {create_key(server.data_dir, 'analyst', 'rep-app')}"}
    params = {
        "app_id": "rep-app",
        "metrics": "installs,cost,cpi",
        "dimensions": "network",
        "from": today,
        "to": today,
    }
    body = httpx.get(f"{server.url}/v1/reports/aggregate", params=params, headers=analyst).json()
    rows = {r["network"]: r for r in body["rows"]}
    assert rows["meta"]["installs"] == 3 and rows["meta"]["cost"] == 30.0
    assert rows["meta"]["cpi"] == 10.0
    assert rows["organic"]["installs"] == 1
    assert body["totals"]["installs"] == 4

    csv = httpx.get(
        f"{server.url}/v1/reports/aggregate", params={**params, "format": "csv"}, headers=analyst
    ).text
    assert csv.splitlines()[0] == "network,installs,cost,cpi"
    bad = httpx.get(
        f"{server.url}/v1/reports/aggregate",
        params={**params, "metrics": "instals"},
        headers=analyst,
    )
    assert bad.status_code == 400 and bad.json()["detail"][0]["field"] == "metrics"
    other = create_key(server.data_dir, "analyst", server.create_app("rep-other")["app_id"])
    denied = httpx.get(
        f"{server.url}/v1/reports/aggregate",
        params=params,
        headers={"Authorization": f"Bearer {other}"},
    )
    assert denied.status_code == 403
    catalogue = httpx.get(f"{server.url}/v1/metrics", headers=analyst).json()
    assert "installs" in str(catalogue)
