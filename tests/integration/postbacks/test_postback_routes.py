"""The postback management API over ASGI, with a real control plane, real keys and a receiver."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from attribo.api.postback_routes import postback_routes
from attribo.collector.http import HTTPError
from attribo.control import ControlPlane
from attribo.postbacks import PostbackDispatcher, PostbackSettings

if TYPE_CHECKING:
    from conftest import Receiver

APP = "com.example.game"  # created by the `control` fixture

FAST = PostbackSettings(base_delay_s=0.05, max_delay_s=0.2, timeout_s=2.0, poll_interval_s=0.05)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPError)
    return exc.response()


@asynccontextmanager
async def api(control: ControlPlane) -> AsyncIterator[tuple[httpx.AsyncClient, PostbackDispatcher]]:
    """A client for an app serving only the postback routes, and its running dispatcher."""
    async with PostbackDispatcher(control, FAST) as dispatcher:
        app = Starlette(
            routes=postback_routes(control, dispatcher),
            exception_handlers={HTTPError: _http_error},
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, dispatcher


def run(main: Callable[[], Awaitable[None]]) -> None:
    """Run one async test body on a fresh event loop."""
    asyncio.run(main())  # type: ignore[arg-type]


def auth(key: str) -> dict[str, str]:
    """Bearer header for a key."""
    return {"Authorization": f"Bearer {key}"}


def fields_at_fault(response: httpx.Response) -> list[str]:
    """The `detail[].field` of an error answer."""
    body: dict[str, Any] = response.json()
    return [d["field"] for d in body["detail"]]


def test_create_list_delete(control: ControlPlane, receiver: Receiver) -> None:
    admin = auth(control.create_key("admin"))
    spec = {"app_id": APP, "network": "facebook", "event": "install",
            "url": receiver.url("/pb?c={click_id}")}  # fmt: skip

    async def main() -> None:
        async with api(control) as (client, _d):
            created = await client.post("/v1/postbacks", json=spec, headers=admin)
            assert created.status_code == 201, created.text
            body = created.json()
            assert {k: body[k] for k in spec} == spec
            assert (body["method"], body["body"], body["enabled"]) == ("GET", None, True)
            listed = await client.get("/v1/postbacks", params={"app_id": APP}, headers=admin)
            assert [t["id"] for t in listed.json()["postbacks"]] == [body["id"]]
            gone = await client.delete(f"/v1/postbacks/{body['id']}", headers=admin)
            assert gone.status_code == 204
            again = await client.delete(f"/v1/postbacks/{body['id']}", headers=admin)
            assert again.status_code == 404
            assert fields_at_fault(again) == ["template_id"]
            listed = await client.get("/v1/postbacks", params={"app_id": APP}, headers=admin)
            assert listed.json() == {"postbacks": []}

    run(main)


def test_validation_errors_name_the_field(control: ControlPlane, receiver: Receiver) -> None:
    admin = auth(control.create_key("admin"))
    good = {"app_id": APP, "network": "facebook", "event": "install", "url": receiver.url()}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"url": receiver.url("/pb?c={clickid}")}, 400, "url"),
        ({"method": "POST", "body": "a={secret}"}, 400, "body"),
        ({"url": "ftp://example.com/x"}, 400, "url"),
        ({"url": "https://{site_id}.example.com/x"}, 400, "url"),
        ({"method": "PUT"}, 400, "method"),
        ({"network": ""}, 400, "network"),
        ({"surprise": 1}, 400, "surprise"),
        ({"app_id": "no.such.app"}, 404, "app_id"),
    ]

    async def main() -> None:
        async with api(control) as (client, _d):
            for change, status, field in cases:
                answer = await client.post("/v1/postbacks", json={**good, **change}, headers=admin)
                assert answer.status_code == status, (change, answer.text)
                assert fields_at_fault(answer) == [field], (change, answer.text)
            missing = await client.get("/v1/postbacks", headers=admin)
            assert (missing.status_code, fields_at_fault(missing)) == (400, ["app_id"])
            not_json = await client.post("/v1/postbacks", content=b"{", headers=admin)
            assert not_json.status_code == 400

    run(main)


def test_loopback_refused_at_creation_when_not_allowed(
    control: ControlPlane, receiver: Receiver
) -> None:
    admin = auth(control.create_key("admin"))
    control.set_app_settings(APP, {"allow_private_postbacks": False})

    async def main() -> None:
        async with api(control) as (client, _d):
            for url in (receiver.url(), "http://localhost/x", "http://[::1]/x"):
                spec = {"app_id": APP, "network": "n", "event": "install", "url": url}
                answer = await client.post("/v1/postbacks", json=spec, headers=admin)
                assert answer.status_code == 400
                assert fields_at_fault(answer) == ["url"]
                assert "refused address" in answer.json()["detail"][0]["message"]

    run(main)


def test_keys_and_tenants(control: ControlPlane, receiver: Receiver) -> None:
    control.create_app("other.app", "Other")
    global_admin = auth(control.create_key("admin"))
    other_admin = auth(control.create_key("admin", "other.app"))
    analyst = auth(control.create_key("analyst", APP))
    spec = {"app_id": APP, "network": "n", "event": "install", "url": receiver.url()}

    async def main() -> None:
        async with api(control) as (client, _d):
            assert (await client.post("/v1/postbacks", json=spec)).status_code == 401
            bogus = auth("atb_nope")
            assert (await client.post("/v1/postbacks", json=spec, headers=bogus)).status_code == 401
            assert (
                await client.post("/v1/postbacks", json=spec, headers=analyst)
            ).status_code == 403
            cross = await client.post("/v1/postbacks", json=spec, headers=other_admin)
            assert (cross.status_code, fields_at_fault(cross)) == (403, ["app_id"])
            created = (await client.post("/v1/postbacks", json=spec, headers=global_admin)).json()
            path = f"/v1/postbacks/{created['id']}"
            assert (await client.delete(path, headers=other_admin)).status_code == 404
            listing = await client.get("/v1/postbacks", params={"app_id": APP}, headers=other_admin)
            assert listing.status_code == 403
            log = await client.get(
                "/v1/postbacks/deliveries", params={"app_id": APP}, headers=other_admin
            )
            assert log.status_code == 403
            assert (await client.delete(path, headers=global_admin)).status_code == 204

    run(main)


def test_delivery_log_end_to_end(control: ControlPlane, receiver: Receiver) -> None:
    admin = auth(control.create_key("admin"))

    async def main() -> None:
        async with api(control) as (client, dispatcher):
            for path, event in (("/ok?c={click_id}", "install"), ("/gone", "purchase")):
                spec = {"app_id": APP, "network": "facebook", "event": event,
                        "url": receiver.url(path)}  # fmt: skip
                assert (await client.post("/v1/postbacks", json=spec, headers=admin)).is_success
            receiver.script(receiver.answer(200), receiver.answer(410))
            await dispatcher.submit(APP, "install", {"event_id": "i1", "network": "facebook",
                                                     "click_id": "abc"})  # fmt: skip
            await receiver.wait_for(1)
            await dispatcher.submit(APP, "purchase", {"event_id": "p1", "network": "facebook"})
            await receiver.wait_for(2)
            deadline = time.monotonic() + 5
            while True:
                log = await client.get(
                    "/v1/postbacks/deliveries", params={"app_id": APP}, headers=admin
                )
                rows = log.json()["deliveries"]
                if len(rows) == 2 and all(r["status"] != "pending" for r in rows):
                    break
                assert time.monotonic() < deadline, rows
                await asyncio.sleep(0.02)
            by_event = {r["event_id"]: r for r in rows}
            assert by_event["i1"]["status"] == "delivered"
            assert by_event["i1"]["url"] == receiver.url("/ok?c=abc")
            assert (by_event["p1"]["status"], by_event["p1"]["last_http_status"]) == ("failed", 410)
            failed = await client.get(
                "/v1/postbacks/deliveries", params={"app_id": APP, "status": "failed"},
                headers=admin,
            )  # fmt: skip
            assert [r["event_id"] for r in failed.json()["deliveries"]] == ["p1"]
            bad = await client.get(
                "/v1/postbacks/deliveries", params={"app_id": APP, "status": "lost"},
                headers=admin,
            )  # fmt: skip
            assert (bad.status_code, fields_at_fault(bad)) == (400, ["status"])
            bad = await client.get(
                "/v1/postbacks/deliveries", params={"app_id": APP, "limit": "0"}, headers=admin
            )
            assert (bad.status_code, fields_at_fault(bad)) == (400, ["limit"])

    run(main)
