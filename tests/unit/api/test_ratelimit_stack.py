"""`RateLimit` in front of the whole server app (`build_app`: IngestFront + Starlette routes)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from attribo.api.app import build_app
from attribo.api.ratelimit import RateLimit, RateLimitSettings
from attribo.api.runtime import Runtime
from attribo.config import Settings
from helpers import make_event


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    """A server process's runtime on fresh files (fsync off: durability is not under test)."""
    opened = Runtime.open(Settings(data_dir=tmp_path / "data", log_fsync=False))
    yield opened
    opened.close()


def test_ingestion_through_the_whole_stack_is_not_throttled(runtime: Runtime) -> None:
    created = runtime.control.create_app("app", "App")
    analyst = runtime.control.create_key("analyst", "app")
    limited = RateLimit(build_app(runtime), runtime.control,
                        RateLimitSettings(analyst_rate=1.0, analyst_burst=3))  # fmt: skip
    ingest = {"Authorization": f"Bearer {created.ingest_key}"}
    read = {"Authorization": f"Bearer {analyst}"}

    async def main() -> None:
        transport = httpx.ASGITransport(app=limited)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            for i in range(500):  # as fast as one client goes: all accepted, none throttled
                event = make_event("app", f"e{i}")
                answer = await c.post("/v1/events", json=event, headers=ingest)
                assert answer.status_code == 200, answer.text
            batch = [make_event("app", f"b{i}") for i in range(100)]
            answer = await c.post("/v1/events/batch", json={"events": batch}, headers=ingest)
            assert answer.status_code == 200, answer.text
            reads = [
                (await c.get("/v1/attributions", params={"app_id": "app"}, headers=read))
                for _ in range(4)
            ]
            assert [r.status_code for r in reads] == [200, 200, 200, 429]
            assert reads[3].headers["retry-after"] == "1"
            assert (await c.get("/health")).status_code == 200  # no key: not limited

    asyncio.run(main())
