"""Tenant isolation: a key reaches only its own app, through every endpoint."""

from __future__ import annotations

import httpx
import pytest

from attribo.bench.server import ServerProcess, create_key
from helpers import export, make_event


@pytest.fixture(scope="module")
def tenants(shared_server: ServerProcess) -> dict[str, dict[str, str]]:
    apps = {name: shared_server.create_app(name) for name in ("tenant-a", "tenant-b")}
    for name, app in apps.items():
        app["analyst_key"] = create_key(shared_server.data_dir, "analyst", name)
        response = httpx.post(
            f"{shared_server.url}/v1/events/batch",
            json={"events": [make_event(name, f"{name}-{i}") for i in range(5)]},
            headers={"Authorization": f"Bearer {app['ingest_key']}"},
        )
        assert response.json()["accepted"] == 5
    return apps


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_ingest_key_cannot_write_to_another_app(shared_server, tenants):
    key_a = tenants["tenant-a"]["ingest_key"]
    single = httpx.post(
        f"{shared_server.url}/v1/events",
        json=make_event("tenant-b", "intruder-1"),
        headers=auth(key_a),
    )
    assert single.status_code == 403
    assert single.json()["detail"][0]["field"] == "app_id"
    batch = httpx.post(
        f"{shared_server.url}/v1/events/batch",
        json={"events": [make_event("tenant-b", "intruder-2"), make_event("tenant-a", "own-1")]},
        headers=auth(key_a),
    )
    assert batch.status_code == 200
    assert batch.json()["accepted"] == 1
    assert batch.json()["detail"] == [
        {
            "index": 0,
            "field": "app_id",
            "message": "this key cannot write events for app 'tenant-b'",
        }
    ]
    only_foreign = httpx.post(
        f"{shared_server.url}/v1/events/batch",
        json={"events": [make_event("tenant-b", "intruder-3")]},
        headers=auth(key_a),
    )
    assert only_foreign.status_code == 403
    stored_b = {r["event_id"] for r in export(shared_server, shared_server.admin_key(), "tenant-b")}
    assert not any(e.startswith("intruder") for e in stored_b)
    assert stored_b == {f"tenant-b-{i}" for i in range(5)}


def test_ingest_key_reads_nothing(shared_server, tenants):
    key_a = tenants["tenant-a"]["ingest_key"]
    for app_id in ("tenant-a", "tenant-b"):
        response = httpx.get(
            f"{shared_server.url}/v1/events/export", params={"app_id": app_id}, headers=auth(key_a)
        )
        assert response.status_code == 403


def test_ingest_and_analyst_keys_cannot_manage(shared_server, tenants):
    for key in (tenants["tenant-a"]["ingest_key"], tenants["tenant-a"]["analyst_key"]):
        link = httpx.post(
            f"{shared_server.url}/v1/links",
            json={"app_id": "tenant-a", "network": "x"},
            headers=auth(key),
        )
        assert link.status_code == 403
        new_app = httpx.post(
            f"{shared_server.url}/v1/apps",
            json={"app_id": "sneaky", "name": "s"},
            headers=auth(key),
        )
        assert new_app.status_code == 403


def test_analyst_reads_only_its_app(shared_server, tenants):
    analyst_a = tenants["tenant-a"]["analyst_key"]
    own = export(shared_server, analyst_a, "tenant-a")
    assert own and {r["app_id"] for r in own} == {"tenant-a"}
    other = httpx.get(
        f"{shared_server.url}/v1/events/export",
        params={"app_id": "tenant-b"},
        headers=auth(analyst_a),
    )
    assert other.status_code == 403


def test_export_filters_by_type_and_time(shared_server, tenants):
    admin = shared_server.admin_key()
    rows = export(shared_server, admin, "tenant-a")
    middle = sorted(r["received_at"] for r in rows)[len(rows) // 2]
    later = export(shared_server, admin, "tenant-a", since=str(middle))
    assert later and all(r["received_at"] >= middle for r in later)
    assert export(shared_server, admin, "tenant-a", type="click") == []
    bad = httpx.get(
        f"{shared_server.url}/v1/events/export",
        params={"app_id": "tenant-a", "type": "nonsense"},
        headers=auth(admin),
    )
    assert bad.status_code == 400 and bad.json()["detail"][0]["field"] == "type"
    bad_time = httpx.get(
        f"{shared_server.url}/v1/events/export",
        params={"app_id": "tenant-a", "since": "yesterday"},
        headers=auth(admin),
    )
    assert bad_time.status_code == 400 and bad_time.json()["detail"][0]["field"] == "since"
