"""Rate limits through Redis: two server processes share one budget per key."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cluster_services import service_missing
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from attribo.api.ratelimit import RateLimit, RateLimitSettings
from attribo.control import ControlPlane

redis_buckets = pytest.importorskip("attribo.hotstate.redis_buckets")


@pytest.fixture
def shared(namespace: str, redis_url: str) -> Iterator[redis_buckets.RedisTokenBuckets]:
    import redis

    buckets = redis_buckets.RedisTokenBuckets.from_url(redis_url, namespace)
    try:
        buckets._redis.ping()
    except redis.RedisError as exc:
        service_missing(f"Redis not reachable at {redis_url}: {exc!r}")
    yield buckets
    buckets.clear()
    buckets._redis.close()


async def ok(request: Request) -> Response:
    return PlainTextResponse("ok")


def test_two_processes_share_one_budget(tmp_path: Path, shared) -> None:  # type: ignore[no-untyped-def]
    control = ControlPlane.open(tmp_path / "control.db")
    control.create_app("app", "App")
    key = control.create_key("analyst", "app")
    budget = RateLimitSettings(analyst_rate=0.5, analyst_burst=4)
    # Two middlewares with their own memory stand for two server processes.
    servers = [
        RateLimit(Starlette(routes=[Route("/r", ok)]), control, budget, shared) for _ in range(2)
    ]

    async def main() -> list[int]:
        codes = []
        for n in range(6):
            transport = httpx.ASGITransport(app=servers[n % 2], client=("10.0.0.1", 1))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                response = await c.get("/r", headers={"Authorization": f"Bearer {key}"})
                codes.append(response.status_code)
                if response.status_code == 429:
                    assert int(response.headers["retry-after"]) == 2
        await shared.aclose()  # the awaited client belongs to this loop
        return codes

    try:
        assert asyncio.run(main()) == [200, 200, 200, 200, 429, 429]  # 4 in all, not 4 each
    finally:
        control.close()
