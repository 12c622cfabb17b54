"""`POST /v1/costs` and `GET /v1/costs` end to end: real control plane, real DuckDB file.

No mocks: a Starlette app built from the real routes, keys resolved by a real
ControlPlane in SQLite, rows written by `CostSink` on a cursor of a `DuckDBStore` file.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from attribo.api.costs_routes import MAX_ROWS, costs_routes
from attribo.control import ControlPlane
from attribo.store.costs import USD_RATES, CostSink
from attribo.store.duckdb import DuckDBStore

URL = "/v1/costs"
BODY_LIMIT = 1 << 20
COLUMNS = [
    "date",
    "app_id",
    "network",
    "campaign",
    "adset",
    "ad",
    "country",
    "spend",
    "currency",
    "impressions",
    "clicks",
]


@dataclass
class Server:
    """The pieces of one test server and its keys."""

    app: Starlette
    sink: CostSink
    admin: str
    ingest: str  # app `game`
    other_ingest: str  # app `other`
    analyst: str  # app `game`
    other_analyst: str  # app `other`

    def request(
        self,
        method: str,
        key: str | None,
        content: bytes = b"",
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request through the ASGI app."""
        headers = {"content-type": content_type}
        if key is not None:
            headers["authorization"] = f"Bearer {key}"

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                return await client.request(
                    method, URL, content=content, headers=headers, params=params
                )

        return asyncio.run(send())

    def post_json(self, body: Any, key: str | None = None) -> httpx.Response:
        return self.request("POST", key or self.ingest, json.dumps(body).encode())

    def post_csv(self, text: str, key: str | None = None) -> httpx.Response:
        return self.request("POST", key or self.ingest, text.encode(), "text/csv")

    def get(self, key: str | None = None, **params: str) -> httpx.Response:
        return self.request("GET", key or self.analyst, params=params)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    control = ControlPlane.open(tmp_path / "control.db")
    game = control.create_app("game", "Game")
    other = control.create_app("other", "Other")
    store = DuckDBStore(tmp_path / "e.duckdb", threads=1)
    sink = CostSink(store.side_cursor())
    app = Starlette(routes=costs_routes(control, sink, BODY_LIMIT))
    yield Server(
        app,
        sink,
        admin=control.create_key("admin"),
        ingest=game.ingest_key,
        other_ingest=other.ingest_key,
        analyst=control.create_key("analyst", "game"),
        other_analyst=control.create_key("analyst", "other"),
    )
    store.close()
    control.close()


def cost(**fields: Any) -> dict[str, Any]:
    """A valid cost row of app `game`, changed by `fields`."""
    return {
        "date": "2025-03-01",
        "app_id": "game",
        "network": "meta",
        "campaign": "spring",
        "adset": "us-broad",
        "ad": "video-1",
        "country": "US",
        "spend": 120.5,
        "currency": "USD",
        "impressions": 40_000,
        "clicks": 900,
        **fields,
    }


def as_csv(rows: list[dict[str, Any]], columns: list[str] = COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def test_json_upload_then_read(server: Server) -> None:
    rows = [cost(), cost(country="DE", spend=92.0, currency="EUR"), cost(date="2025-03-02")]
    response = server.post_json({"rows": rows})
    assert response.status_code == 200, response.text
    assert response.json() == {"rows": 3, "inserted": 3, "replaced": 0}
    got = server.get(app_id="game").json()["rows"]
    assert len(got) == 3
    de = next(r for r in got if r["country"] == "DE")
    assert de["date"] == "2025-03-01"
    assert (de["spend"], de["currency"]) == (92.0, "EUR")
    assert de["spend_usd"] == pytest.approx(92.0 / USD_RATES["EUR"])


def test_bare_json_array_is_accepted(server: Server) -> None:
    response = server.post_json([cost(), cost(country="FR")])
    assert response.json() == {"rows": 2, "inserted": 2, "replaced": 0}


def test_csv_upload_matches_json(server: Server) -> None:
    rows = [cost(), cost(country="DE", adset=None, ad=None, impressions=None, clicks=None)]
    response = server.post_csv(as_csv(rows))
    assert response.status_code == 200, response.text
    assert response.json() == {"rows": 2, "inserted": 2, "replaced": 0}
    via_csv = server.get(app_id="game").json()["rows"]
    assert server.post_json({"rows": rows}).json() == {"rows": 2, "inserted": 0, "replaced": 2}
    assert server.get(app_id="game").json()["rows"] == via_csv
    de = next(r for r in via_csv if r["country"] == "DE")
    assert (de["adset"], de["ad"], de["impressions"], de["clicks"]) == (None, None, None, None)


def test_csv_with_bom_reordered_and_missing_columns(server: Server) -> None:
    text = (
        "\ufeffspend,currency,date,network,app_id,clicks\r\n"
        "10.5,usd,2025-03-01,tiktok,game,7\r\n\r\n"
    )
    response = server.post_csv(text)
    assert response.status_code == 200, response.text
    (stored,) = server.get(app_id="game").json()["rows"]
    assert stored["network"] == "tiktok"
    assert (stored["spend"], stored["currency"], stored["clicks"]) == (10.5, "USD", 7)
    assert stored["campaign"] is None


def test_reupload_is_idempotent_and_changes_replace(server: Server) -> None:
    rows = [cost(), cost(country="DE"), cost(campaign=None)]
    assert server.post_json({"rows": rows}).json() == {"rows": 3, "inserted": 3, "replaced": 0}
    first = server.get(app_id="game").json()["rows"]
    assert server.post_csv(as_csv(rows)).json() == {"rows": 3, "inserted": 0, "replaced": 3}
    assert server.get(app_id="game").json()["rows"] == first
    changed = server.post_json({"rows": [cost(spend=1.0)]})
    assert changed.json() == {"rows": 1, "inserted": 0, "replaced": 1}
    spends = {
        (r["campaign"], r["country"]): r["spend"] for r in server.get(app_id="game").json()["rows"]
    }
    assert spends == {("spring", "US"): 1.0, ("spring", "DE"): 120.5, (None, "US"): 120.5}


def test_bad_rows_are_named_and_nothing_is_stored(server: Server) -> None:
    rows = [cost(), cost(spend=-1), cost(), cost(date="03/01/2025"), cost(currency="XAU")]
    response = server.post_json({"rows": rows})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_costs"
    named = [(d["index"], d["field"]) for d in body["detail"]]
    assert named == [(1, "spend"), (3, "date"), (4, "currency")]
    assert server.get(app_id="game").json()["rows"] == []


def test_bad_csv_cells_are_named(server: Server) -> None:
    text = as_csv([cost(), cost(clicks="many")])
    response = server.post_csv(text)
    assert response.status_code == 400
    assert [(d["index"], d["field"]) for d in response.json()["detail"]] == [(1, "clicks")]
    unknown = server.post_csv("date,app_id,network,spend,currency,installs\r\n")
    assert unknown.status_code == 200  # a header alone is an empty upload
    extra = server.post_csv(
        "date,app_id,network,spend,currency,installs\r\n2025-03-01,game,meta,1,USD,3\r\n"
    )
    assert extra.status_code == 400
    assert extra.json()["detail"][0] == {
        "index": 0,
        "field": "installs",
        "message": "Object contains unknown field `installs`",
    }


@pytest.mark.parametrize(
    ("content", "content_type", "field"),
    [
        (b"{not json", "application/json", "body"),
        (b'{"rows": {}}', "application/json", "rows"),
        (b'{"rows": [], "extra": 1}', "application/json", "extra"),
        (b"42", "application/json", "body"),
        (b"", "text/csv", "body"),
        (b"\xff\xfe", "text/csv", "body"),
        (b"a,b\r\n1,2,3\r\n", "text/csv", "row"),
        (b"<xml/>", "application/xml", "Content-Type"),
    ],
)
def test_malformed_bodies_name_the_field(
    server: Server, content: bytes, content_type: str, field: str
) -> None:
    response = server.request("POST", server.ingest, content, content_type)
    assert 400 <= response.status_code < 500
    assert response.json()["detail"][0]["field"] == field


def test_another_apps_ingest_key_is_forbidden(server: Server) -> None:
    rows = [cost(), cost(app_id="other"), cost()]
    response = server.post_json({"rows": rows})
    assert response.status_code == 403
    (detail,) = response.json()["detail"]
    assert (detail["index"], detail["field"]) == (1, "app_id")
    assert detail["message"].startswith("rows[1].app_id")
    assert server.get(server.other_analyst, app_id="other").json()["rows"] == []
    assert server.get(app_id="game").json()["rows"] == []  # atomic: nothing stored


def test_admin_writes_any_app_but_not_unknown_ones(server: Server) -> None:
    rows = [cost(), cost(app_id="other")]
    assert server.post_json({"rows": rows}, server.admin).json()["inserted"] == 2
    assert len(server.get(server.other_analyst, app_id="other").json()["rows"]) == 1
    response = server.post_json({"rows": [cost(app_id="ghost")]}, server.admin)
    assert response.status_code == 400
    assert response.json()["detail"][0]["field"] == "app_id"


def test_keys_and_roles(server: Server) -> None:
    assert server.request("POST", None, b"[]").status_code == 401
    assert server.request("POST", "nope", b"[]").status_code == 401
    assert server.post_json([cost()], server.analyst).status_code == 403
    assert server.get(server.ingest, app_id="game").status_code == 403
    assert server.get(server.other_analyst, app_id="game").status_code == 403
    assert server.get(server.admin, app_id="game").status_code == 200
    assert server.get(app_id="game").status_code == 200


def test_get_ranges_and_parameters(server: Server) -> None:
    rows = [cost(date=f"2025-03-{day:02d}") for day in range(1, 11)]
    server.post_json({"rows": rows})
    got = server.get(app_id="game", **{"from": "2025-03-03", "to": "2025-03-05"}).json()
    assert [r["date"] for r in got["rows"]] == ["2025-03-03", "2025-03-04", "2025-03-05"]
    assert len(server.get(app_id="game", to="2025-03-02").json()["rows"]) == 2
    bad = server.get(app_id="game", **{"from": "March"})
    assert (bad.status_code, bad.json()["detail"][0]["field"]) == (400, "from")
    backwards = server.get(app_id="game", **{"from": "2025-03-05", "to": "2025-03-01"})
    assert backwards.status_code == 400
    assert server.get().json()["detail"][0]["field"] == "app_id"


def test_limits_answer_413(server: Server) -> None:
    big = server.request("POST", server.ingest, b"[" + b" " * BODY_LIMIT + b"]")
    assert big.status_code == 413
    many = "\r\n".join(["date"] + ["x"] * (MAX_ROWS + 1))
    response = server.post_csv(many)
    assert response.status_code == 413
    assert response.json()["detail"][0]["field"] == "rows"
    array = server.request("POST", server.ingest, b"[" + b"{}," * MAX_ROWS + b"{}]")
    assert (array.status_code, array.json()["error"]) == (413, "too_many_rows")
