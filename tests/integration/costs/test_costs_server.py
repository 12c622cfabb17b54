"""Cost rows through the real server: CSV in, idempotent, read back with an analyst key."""

from __future__ import annotations

import httpx

from attribo.bench.server import ServerProcess, create_key

CSV = (
    "date,app_id,network,campaign,country,spend,currency,impressions,clicks\n"
    "2026-11-01,cost-app,meta,spring,US,120.50,USD,10000,300\n"
    "2026-11-01,cost-app,tiktok,,DE,80,EUR,8000,200\n"
)


def test_csv_upload_is_idempotent_and_readable(server: ServerProcess) -> None:
    server.create_app("cost-app")
    admin = {"Authorization": f"Bearer {server.admin_key()}"}
    url = f"{server.url}/v1/costs"
    headers = {**admin, "Content-Type": "text/csv"}
    first = httpx.post(url, content=CSV, headers=headers).json()
    again = httpx.post(url, content=CSV, headers=headers).json()
    assert (first["inserted"], again["inserted"], again["replaced"]) == (2, 0, 2)
    analyst = create_key(server.data_dir, "analyst", "cost-app")
    rows = httpx.get(
        url, params={"app_id": "cost-app"}, headers={"Authorization": f"Bearer {analyst}"}
    ).json()["rows"]
    assert sorted(r["network"] for r in rows) == ["meta", "tiktok"]
    euro = next(r for r in rows if r["network"] == "tiktok")
    assert euro["spend"] == 80 and euro["spend_usd"] > 80  # converted at the reference rate
