"""`POST /v1/skan/postbacks` end to end: real control plane, real DuckDB sink, Apple's samples.

No mocks: a Starlette app built from the real routes, keys resolved by a real
ControlPlane in SQLite, postbacks written by the DuckDB sink into a file, and the
verified-only summary read back from that file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from starlette.applications import Starlette

from attribo.attribution.skan.schema import SETTINGS_KEY, ConversionSchema, load_schema
from attribo.collector.dedup import DedupIndex
from attribo.collector.ingest import Collector
from attribo.collector.routes import CollectorContext
from attribo.collector.skan_routes import skan_routes
from attribo.config import Settings
from attribo.control import ControlPlane
from attribo.events.validate import FieldError
from attribo.log.local import LocalLog
from attribo.store.skan import DuckDBPostbackSink, read_postbacks, skan_summary

pytestmark = pytest.mark.dataset

URL = "/v1/skan/postbacks"
SCHEMA = load_schema(
    {
        "fine_ranges": [
            {"min_value": 0, "max_value": 19, "revenue_min": 0, "revenue_max": 0.99},
            {
                "min_value": 20,
                "max_value": 63,
                "revenue_min": 1,
                "revenue_max": 50,
                "events": ["purchase"],
            },
        ],
        "coarse": {"high": {"revenue_min": 10, "revenue_max": 100}},
    }
)


@dataclass
class Server:
    """The pieces of one test server."""

    app: Starlette
    conn: duckdb.DuckDBPyConnection
    control: ControlPlane
    key: str
    other_key: str
    samples: Path

    def post(self, body: bytes, key: str | None = None, query: str = "") -> httpx.Response:
        """POST a body through the ASGI app, as a forwarding network would."""
        headers = {"content-type": "application/json"}
        if key != "":
            headers["authorization"] = f"Bearer {key or self.key}"

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://skan") as client:
                return await client.post(f"{URL}{query}", content=body, headers=headers)

        return asyncio.run(send())

    def sample(self, name: str) -> bytes:
        """One of Apple's sample postbacks, as bytes."""
        return (self.samples / name).read_bytes()


@pytest.fixture
def server(tmp_path: Path, datasets_dir: Path) -> Iterator[Server]:
    control = ControlPlane.open(tmp_path / "control.db")
    app1 = control.create_app("app1", "App One")
    app2 = control.create_app("app2", "App Two")
    log = LocalLog(tmp_path / "log")
    ctx = CollectorContext(Settings(), control, Collector(log, DedupIndex(3_600_000)))
    conn = duckdb.connect(str(tmp_path / "store.duckdb"))

    def schema_for(app_id: str) -> ConversionSchema | FieldError:
        return SCHEMA if app_id == "app1" else ConversionSchema()

    app = Starlette(routes=skan_routes(ctx, DuckDBPostbackSink(conn), schema_for))
    yield Server(app, conn, control, app1.ingest_key, app2.ingest_key, datasets_dir / "skadnetwork")
    conn.close()
    log.close()
    control.close()


def test_valid_samples_are_verified_and_counted(server: Server) -> None:
    """Apple's samples answer 200 verified; the summary counts them with decoded revenue."""
    names = [
        "com.example-4.0.json",
        "com.example-4.0-coarse.json",
        "example123-3.0.json",
        "example123-3.0-nonwinning.json",
    ]
    for name in names:
        response = server.post(server.sample(f"valid/{name}"))
        assert response.status_code == 200, response.text
        assert response.json()["verified"] is True and response.json()["duplicate"] is False
    # Apple's 2.1 sample reuses the 3.0 sample's transaction id: the same postback again.
    repeat = server.post(server.sample("valid/com.example-2.1.json"))
    assert repeat.status_code == 200 and repeat.json()["duplicate"] is True
    summary = skan_summary(server.conn, "app1")
    assert (summary.postbacks, summary.installs, summary.non_winning) == (4, 3, 1)
    # 4.0 fine 63 -> 1..50, 4.0 coarse high -> 10..100, 3.0 value 20 -> 1..50
    assert (summary.revenue_min, summary.revenue_max) == (12.0, 200.0)
    assert summary.events == {"purchase": 2}
    assert summary.unverified == 0


def test_signature_failures_are_stored_apart(server: Server) -> None:
    """A bad or tampered signature answers 202 `verified: false` and is never counted."""
    for name in ("invalid/bad-signature.json", "invalid/tampered-transaction-id.json"):
        response = server.post(server.sample(name))
        assert response.status_code == 202, response.text
        assert response.json()["verified"] is False
    summary = skan_summary(server.conn, "app1")
    assert (summary.postbacks, summary.installs, summary.unverified) == (0, 0, 2)
    stored = read_postbacks(server.conn, "app1", verified=False)
    assert json.loads(stored[0]["raw"])["version"] == "4.0"


def test_tampered_transaction_then_genuine(server: Server) -> None:
    """A forged copy does not block the genuine postback that follows it."""
    body = json.loads(server.sample("valid/com.example-4.0.json"))
    forged = json.dumps({**body, "attribution-signature": "MEUCIQ=="}).encode()
    assert server.post(forged).status_code == 202
    genuine = server.post(server.sample("valid/com.example-4.0.json"))
    assert genuine.status_code == 200 and genuine.json()["duplicate"] is False
    again = server.post(server.sample("valid/com.example-4.0.json"))
    assert again.status_code == 200 and again.json()["duplicate"] is True
    summary = skan_summary(server.conn, "app1")
    assert (summary.installs, summary.unverified) == (1, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[]", "body"),
        (None, "app-id"),  # invalid/no-required-params.json
        (b'{"version": "5.0", "who-knows": 1}', "version"),
        (
            b'{"version": "4.0", "ad-network-id": "x", "app-id": 1, "transaction-id": "t",'
            b' "attribution-signature": "s", "source-identifier": "12", "redownload": false,'
            b' "fidelity-type": 1, "did-win": true, "postback-sequence-index": 0,'
            b' "conversion-value": 99}',
            "conversion-value",
        ),
    ],
)
def test_schema_errors_are_400_naming_the_field(
    server: Server, body: bytes | None, field: str
) -> None:
    """Nothing is stored for a body that fails the schema; the answer says which field."""
    body = body if body is not None else server.sample("invalid/no-required-params.json")
    response = server.post(body)
    assert response.status_code == 400
    answer: dict[str, Any] = response.json()
    assert answer["error"] == "invalid_postback"
    assert answer["detail"][0]["field"] == field
    assert read_postbacks(server.conn, "app1") == []


def test_keys(server: Server) -> None:
    """Ingest keys only: missing 401, unknown 401, another app's query 403, admin 403."""
    sample = server.sample("valid/com.example-4.0.json")
    assert server.post(sample, key="").status_code == 401
    assert server.post(sample, key="nope").status_code == 401
    wrong = server.post(sample, query="?app_id=app2")
    assert wrong.status_code == 403 and wrong.json()["detail"][0]["field"] == "app_id"
    admin = server.control.create_key("admin")
    assert server.post(sample, key=admin).status_code == 403
    assert read_postbacks(server.conn, "app1") == []
    assert server.post(sample, query="?app_id=app1").status_code == 200


def test_tenants_are_apart(server: Server) -> None:
    """The same postback sent for two apps is stored for each, decoded by each app's schema."""
    sample = server.sample("valid/com.example-4.0.json")
    assert server.post(sample).json()["duplicate"] is False
    assert server.post(sample, key=server.other_key).json()["duplicate"] is False
    one, two = skan_summary(server.conn, "app1"), skan_summary(server.conn, "app2")
    assert one.installs == two.installs == 1
    assert (one.revenue_max, two.revenue_max) == (50.0, 0.0)


def test_schema_from_app_settings(tmp_path: Path, datasets_dir: Path) -> None:
    """Without a lookup, the schema comes from the app's settings (none set: installs only)."""
    control = ControlPlane.open(tmp_path / "control.db")
    created = control.create_app("plain", "Plain")
    log = LocalLog(tmp_path / "log")
    ctx = CollectorContext(Settings(), control, Collector(log, DedupIndex(3_600_000)))
    conn = duckdb.connect(str(tmp_path / "store.duckdb"))
    app = Starlette(routes=skan_routes(ctx, DuckDBPostbackSink(conn)))
    server = Server(app, conn, control, created.ingest_key, "", datasets_dir / "skadnetwork")
    try:
        info = control.get_app("plain")
        assert info is not None and SETTINGS_KEY not in info.settings
        assert server.post(server.sample("valid/com.example-4.0.json")).status_code == 200
        summary = skan_summary(conn, "plain")
        assert (summary.installs, summary.revenue_max, summary.events) == (1, 0.0, {})
    finally:
        conn.close()
        log.close()
        control.close()
