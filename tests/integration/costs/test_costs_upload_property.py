"""Property over HTTP: JSON and CSV uploads in any order leave a last-write-wins table.

One real server per module (control plane in SQLite, DuckDB file); each example writes a
fresh app with the admin key, so examples never see each other's rows.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from attribo.api.costs_routes import costs_routes
from attribo.control import ControlPlane
from attribo.store.costs import KEY_COLUMNS, USD_RATES, CostSink
from attribo.store.duckdb import DuckDBStore

FIELDS = [*KEY_COLUMNS, "spend", "currency", "impressions", "clicks"]


class Server:
    """A costs API over real parts, and an admin key."""

    def __init__(self, root: Path) -> None:
        self.control = ControlPlane.open(root / "control.db")
        self.store = DuckDBStore(root / "e.duckdb", threads=1)
        self.app = Starlette(
            routes=costs_routes(self.control, CostSink(self.store.side_cursor()), 1 << 22)
        )
        self.admin = self.control.create_key("admin")
        self._apps = itertools.count()

    def new_app(self) -> str:
        app_id = f"app{next(self._apps)}"
        self.control.create_app(app_id, app_id)
        return app_id

    def send(self, method: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                headers = {"authorization": f"Bearer {self.admin}", **kwargs.pop("headers", {})}
                return await client.request(method, "/v1/costs", headers=headers, **kwargs)

        return asyncio.run(go())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("costs"))
    yield server
    server.store.close()
    server.control.close()


cost_rows = st.fixed_dictionaries(
    {
        "date": st.sampled_from(["2025-03-01", "2025-03-02"]),
        "network": st.sampled_from(["meta", "tiktok"]),
        "campaign": st.sampled_from([None, "", "spring", 'x,"y"']),
        "adset": st.sampled_from([None, "a"]),
        "ad": st.sampled_from([None, "v1"]),
        "country": st.sampled_from([None, "US", "DE"]),
        "spend": st.floats(min_value=0, max_value=1e12, allow_nan=False),
        "currency": st.sampled_from(sorted(USD_RATES)),
        "impressions": st.none() | st.integers(min_value=0, max_value=10**12),
        "clicks": st.none() | st.integers(min_value=0, max_value=10**6),
    }
)
uploads = st.lists(st.tuples(st.booleans(), st.lists(cost_rows, max_size=10)), max_size=4)


def as_csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: "" if v is None else repr(v) if isinstance(v, float) else v for k, v in row.items()}
        )
    return out.getvalue().encode()


def key_of(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(row[name] or "") for name in KEY_COLUMNS)


def value_of(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["spend"], row["currency"], row["impressions"], row["clicks"])


@settings(max_examples=40, deadline=None)
@given(batches=uploads)
def test_uploads_leave_the_last_write_wins_table(
    server: Server, batches: list[tuple[bool, list[dict[str, Any]]]]
) -> None:
    app_id = server.new_app()
    model: dict[tuple[str, ...], dict[str, Any]] = {}
    for use_csv, batch in batches:
        rows = [{"app_id": app_id, **row} for row in batch]
        if use_csv:
            response = server.send(
                "POST", content=as_csv(rows), headers={"content-type": "text/csv"}
            )
        else:
            response = server.send("POST", content=json.dumps({"rows": rows}).encode())
        assert response.status_code == 200, response.text
        new_keys = {key_of(row) for row in rows} - set(model)
        assert response.json() == {
            "rows": len(rows),
            "inserted": len(new_keys),
            "replaced": len(rows) - len(new_keys),
        }
        model.update((key_of(row), row) for row in rows)
    stored = server.send("GET", params={"app_id": app_id}).json()["rows"]
    assert {key_of(r): value_of(r) for r in stored} == {k: value_of(v) for k, v in model.items()}
    assert len(stored) == len(model)
