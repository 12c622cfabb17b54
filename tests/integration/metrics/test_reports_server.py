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
    device = {"platform": "android", "gaid": "ga-0"}
    for kind, extra in (("open", {}), ("event", {"revenue": 2.5, "currency": "USD"})):
        event = make_event("rep-app", f"a-{kind}", kind, device=device, **extra)
        assert httpx.post(f"{server.url}/v1/events", json=event, headers=ingest).status_code < 300
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

    later = "2099-01-01T00:00:00Z"  # every install is old enough by then
    day = {"app_id": "rep-app", "from": today, "to": today}
    series = httpx.get(
        f"{server.url}/v1/reports/timeseries",
        params={**day, "metrics": "installs,revenue", "dimensions": "network"},
        headers=analyst,
    ).json()
    assert {(r["date"], r["network"], r["installs"]) for r in series["rows"]} == {
        (today, "meta", 3),
        (today, "organic", 1),
    }
    assert series["totals"]["revenue"] == 2.5
    cohort_url = f"{server.url}/v1/reports/cohort"
    young = httpx.get(
        cohort_url, params={**day, "metric": "retention", "days": "0"}, headers=analyst
    ).json()
    assert young["rows"] == [{"cohort": today, "installs": 4, "day": 0, "value": None}]
    old = httpx.get(
        cohort_url,
        params={**day, "metric": "revenue", "days": "0,1", "as_of": later},
        headers=analyst,
    ).json()
    assert [(c["day"], c["value"]) for c in old["rows"]] == [(0, 2.5), (1, 2.5)]
    retention = httpx.get(
        f"{server.url}/v1/reports/retention",
        params={**day, "days": "0", "as_of": later, "dimensions": "network"},
        headers=analyst,
    ).json()
    assert retention["totals"] == {"installs": 4, "retention_d0": 0.25}
    funnel_params = {**day, "steps": "install,open,event:purchase", "format": "csv"}
    funnel = httpx.get(f"{server.url}/v1/reports/funnel", params=funnel_params, headers=analyst)
    assert funnel.text.splitlines() == ["step_1,step_2,step_3,conversion", "4,1,1,0.25"]
    for path, change, field in [
        ("cohort", {"metric": "ltv"}, "metric"),
        ("cohort", {"metric": "revenue", "days": "0,99"}, "days"),
        ("funnel", {"steps": "install"}, "steps"),
        ("funnel", {"steps": "install,open", "window_hours": "x"}, "window_hours"),
        ("timeseries", {"metrics": "installs", "granularity": "hour"}, "granularity"),
        ("retention", {"as_of": "2026-01-01T00:00:00"}, "as_of"),
    ]:
        response = httpx.get(
            f"{server.url}/v1/reports/{path}", params={**day, **change}, headers=analyst
        )
        assert response.status_code == 400, (path, response.text)
        assert response.json()["detail"][0]["field"] == field, (path, response.text)
    denied = httpx.get(
        f"{server.url}/v1/reports/funnel",
        params={**day, "steps": "install,open"},
        headers={"Authorization": f"Bearer {other}"},
    )
    assert denied.status_code == 403
