"""`GET /v1/audit` over ASGI with a real control plane (SQLite file) and real keys."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from attribo.api.audit_routes import audit_routes
from attribo.collector.http import HTTPError
from attribo.control import ControlPlane


@pytest.fixture
def control(tmp_path: Path) -> Iterator[ControlPlane]:
    """A control plane on a fresh SQLite file, with apps `a` and `b`."""
    plane = ControlPlane.open(tmp_path / "control.db")
    plane.create_app("a", "A")
    plane.create_app("b", "B")
    yield plane
    plane.close()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPError)
    return exc.response()


def get(control: ControlPlane, key: str | None, **params: str) -> httpx.Response:
    """One `GET /v1/audit` with `key` and query `params`."""
    app = Starlette(routes=audit_routes(control), exception_handlers={HTTPError: _http_error})
    headers = {"Authorization": f"Bearer {key}"} if key else {}

    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/v1/audit", params=params, headers=headers)

    return asyncio.run(main())


def entries(response: httpx.Response) -> list[dict[str, Any]]:
    """The entries of a 200 answer."""
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["entries"]
    return rows


def fields_at_fault(response: httpx.Response) -> list[str]:
    """The `detail[].field` of an error answer."""
    return [d["field"] for d in response.json()["detail"]]


@pytest.fixture
def admin(control: ControlPlane) -> str:
    """An installation-wide admin key, with a few actions already logged under it."""
    key = control.create_key("admin")
    log = control.audit
    log.record("key.create", actor_key=key, actor_role="admin", target_id=key[:8])
    log.record("link.create", actor_key=key, actor_role="admin", app_id="a", target_id="L1",
               details={"network": "facebook"})  # fmt: skip
    log.record("postback.create", actor_key=key, actor_role="admin", app_id="b", target_id=3)
    log.record("settings.update", actor_key=key, actor_role="admin", app_id="a",
               details={"keys": ["click_window_h"]})  # fmt: skip
    return key


def test_admin_reads_everything_newest_first(control: ControlPlane, admin: str) -> None:
    rows = entries(get(control, admin))
    assert [r["action"] for r in rows] == [
        "settings.update", "postback.create", "link.create", "key.create"
    ]  # fmt: skip
    first = rows[2]
    expected = {"actor_prefix": admin[:8], "actor_role": "admin", "app_id": "a",
                "target_id": "L1", "details": {"network": "facebook"}}  # fmt: skip
    assert {k: first[k] for k in expected} == expected
    assert first["at"].endswith("+00:00")
    assert all(admin not in str(r) for r in rows)  # the key itself is never echoed


def test_filters_app_since_and_limit(control: ControlPlane, admin: str) -> None:
    assert [r["action"] for r in entries(get(control, admin, app_id="a"))] == [
        "settings.update", "link.create"
    ]  # fmt: skip
    newest = control.audit.list(limit=1)[0]
    since = (newest.at - timedelta(microseconds=1)).isoformat()
    assert [r["id"] for r in entries(get(control, admin, since=since))] == [newest.id]
    z_form = newest.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert [r["id"] for r in entries(get(control, admin, since=z_form))] == [newest.id]
    today = newest.at.date().isoformat()
    assert len(entries(get(control, admin, since=today))) == 4
    assert len(entries(get(control, admin, limit="2"))) == 2
    assert entries(get(control, admin, app_id="nope")) == []


def test_only_admin_keys_read_the_log(control: ControlPlane, admin: str) -> None:
    analyst = get(control, control.create_key("analyst", "a"))
    assert (analyst.status_code, analyst.json()["error"]) == (403, "forbidden")
    assert fields_at_fault(analyst) == ["Authorization"]
    assert get(control, control.create_key("ingest", "a")).status_code == 403
    assert get(control, None).status_code == 401
    assert get(control, "atb_not-a-key").status_code == 401
    revoked = control.create_key("admin")
    control.revoke_key(revoked)
    assert get(control, revoked).status_code == 401


def test_app_scoped_admin_sees_its_app_only(control: ControlPlane, admin: str) -> None:
    scoped = control.create_key("admin", "a")
    assert [r["app_id"] for r in entries(get(control, scoped))] == ["a", "a"]
    assert len(entries(get(control, scoped, app_id="a"))) == 2
    other = get(control, scoped, app_id="b")
    assert (other.status_code, fields_at_fault(other)) == (403, ["app_id"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-11-25T08:00:00"}, "since"),  # no zone: ambiguous
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "-1"}, "limit"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(
    control: ControlPlane, admin: str, params: dict[str, str], field: str
) -> None:
    response = get(control, admin, **params)
    assert (response.status_code, fields_at_fault(response)) == (400, [field])
