"""`RateLimit` around a real Starlette app, a real control plane (SQLite file) and real keys."""

from __future__ import annotations

import asyncio
import timeit
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from attribo.api.auth import require_key
from attribo.api.ratelimit import RateLimit, RateLimitSettings
from attribo.collector.http import HTTPError, json_response
from attribo.control import ControlPlane

APP = "app"


@pytest.fixture
def control(tmp_path: Path) -> Iterator[ControlPlane]:
    """A control plane on a fresh SQLite file, with app `app`."""
    plane = ControlPlane.open(tmp_path / "control.db")
    plane.create_app(APP, "App")
    yield plane
    plane.close()


def protected_app(control: ControlPlane) -> Starlette:
    """An app whose one route answers 200 to any live key and 401 otherwise."""

    async def ping(request: Request) -> Response:
        info = require_key(control, request, "admin", "analyst", "ingest")
        return json_response({"role": info.role})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPError)
        return exc.response()

    return Starlette(routes=[Route("/ping", ping)], exception_handlers={HTTPError: http_error})


def client(app: ASGIApp, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    """A client whose requests come from `ip`."""
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def auth(key: str) -> dict[str, str]:
    """Bearer header for a key."""
    return {"Authorization": f"Bearer {key}"}


def run(main: Callable[[], Awaitable[None]]) -> None:
    """Run one async test body on a fresh event loop."""
    asyncio.run(main())  # type: ignore[arg-type]


async def statuses(c: httpx.AsyncClient, n: int, key: str | None) -> list[int]:
    """Status codes of `n` sequential requests with `key`."""
    headers = auth(key) if key else {}
    return [(await c.get("/ping", headers=headers)).status_code for _ in range(n)]


def test_burst_over_budget_gets_429_then_recovers_after_retry_after(
    control: ControlPlane,
) -> None:
    key = control.create_key("analyst", APP)
    limited = RateLimit(protected_app(control), control,
                        RateLimitSettings(analyst_rate=2.0, analyst_burst=3))  # fmt: skip

    async def main() -> None:
        async with client(limited) as c:
            assert await statuses(c, 3, key) == [200, 200, 200]
            refused = await c.get("/ping", headers=auth(key))
            assert refused.status_code == 429
            assert refused.json() == {
                "error": "rate_limited",
                "detail": [
                    {"field": "Authorization", "message": "rate limit exceeded; retry in 1 s"}
                ],
            }
            wait = int(refused.headers["retry-after"])
            assert wait == 1  # 2 tokens/s: under a second to the next, rounded up
            await asyncio.sleep(wait)
            assert (await c.get("/ping", headers=auth(key))).status_code == 200

    run(main)


def test_retry_after_is_computed_from_the_bucket(control: ControlPlane) -> None:
    key = control.create_key("admin", None)
    slow = RateLimitSettings(admin_rate=0.1, admin_burst=1)  # one request per 10 s
    limited = RateLimit(protected_app(control), control, slow)

    async def main() -> None:
        async with client(limited) as c:
            assert (await c.get("/ping", headers=auth(key))).status_code == 200
            refused = await c.get("/ping", headers=auth(key))
            assert refused.status_code == 429
            assert 9 <= int(refused.headers["retry-after"]) <= 10

    run(main)


def test_budgets_are_per_key(control: ControlPlane) -> None:
    flooder = control.create_key("analyst", APP)
    other = control.create_key("analyst", APP)
    limited = RateLimit(protected_app(control), control,
                        RateLimitSettings(analyst_rate=1.0, analyst_burst=5))  # fmt: skip

    async def main() -> None:
        async with client(limited) as c:
            flood = await statuses(c, 50, flooder)
            assert flood[:5] == [200] * 5 and set(flood[5:]) == {429}
            assert await statuses(c, 5, other) == [200] * 5

    run(main)


def test_default_budgets_never_throttle_realistic_ingest_but_do_analysts(
    control: ControlPlane,
) -> None:
    ingest = control.create_key("ingest", APP)
    analyst = control.create_key("analyst", APP)
    limited = RateLimit(protected_app(control), control)

    async def main() -> None:
        async with client(limited) as c:
            # As fast as this client goes (thousands a second): far beyond an app's SDK traffic.
            assert set(await statuses(c, 3000, ingest)) == {200}
            analysed = await statuses(c, 150, analyst)
            assert analysed.count(200) >= 100 and analysed[-1] == 429

    run(main)


def test_unknown_keys_are_limited_per_client_ip(control: ControlPlane) -> None:
    valid = control.create_key("analyst", APP)
    limited = RateLimit(protected_app(control), control,
                        RateLimitSettings(unknown_key_rate=0.5, unknown_key_burst=3))  # fmt: skip

    async def main() -> None:
        async with client(limited, "10.0.0.1") as guesser, client(limited, "10.0.0.2") as bystander:
            guesses = [await guesser.get("/ping", headers=auth(f"atb_guess{i}")) for i in range(6)]
            assert [r.status_code for r in guesses] == [401, 401, 401, 429, 429, 429]
            assert int(guesses[-1].headers["retry-after"]) == 2
            # Another address still gets its honest 401; a real key from the guesser's works.
            assert (await bystander.get("/ping", headers=auth("atb_typo"))).status_code == 401
            assert (await guesser.get("/ping", headers=auth(valid))).status_code == 200
            # Unknown keys never get buckets of their own (a guesser cannot grow the key table).
            assert limited.bucket_count() == 3

    run(main)


def test_requests_without_a_key_pass_through(control: ControlPlane) -> None:
    limited = RateLimit(protected_app(control), control,
                        RateLimitSettings(unknown_key_burst=1))  # fmt: skip

    async def main() -> None:
        async with client(limited) as c:
            assert set(await statuses(c, 20, None)) == {401}
            bad_scheme = await c.get("/ping", headers={"Authorization": "Basic xyz"})
            assert bad_scheme.status_code == 401
            assert limited.bucket_count() == 0

    run(main)


def test_idle_buckets_are_evicted(control: ControlPlane) -> None:
    keys = [control.create_key("analyst", APP) for _ in range(5)]
    fast = RateLimitSettings(analyst_rate=100.0, analyst_burst=2, unknown_key_rate=100.0,
                             unknown_key_burst=2, sweep_every_s=0.05)  # fmt: skip
    now = [1000.0]  # stepped by hand: a slow machine must not sweep mid-test
    limited = RateLimit(protected_app(control), control, fast, clock=lambda: now[0])

    async def main() -> None:
        for key in keys:
            async with client(limited) as c:
                assert (await c.get("/ping", headers=auth(key))).status_code == 200
        for i in range(5):
            async with client(limited, f"10.0.1.{i}") as c:
                assert (await c.get("/ping", headers=auth("atb_unknown"))).status_code == 401
        assert limited.bucket_count() == 10
        now[0] += 0.049  # before the sweep is due nothing is dropped, refilled or not
        async with client(limited) as c:
            assert (await c.get("/ping", headers=auth(keys[1]))).status_code == 200
        assert limited.bucket_count() == 10
        now[0] += 0.02  # every bucket has refilled (20 ms at 100/s) and the sweep is due
        async with client(limited) as c:
            assert (await c.get("/ping", headers=auth(keys[0]))).status_code == 200
        assert limited.bucket_count() == 1  # only the bucket just made again

    run(main)


def test_client_table_is_capped_under_an_address_flood(control: ControlPlane) -> None:
    key = control.create_key("analyst", APP)
    capped = RateLimitSettings(analyst_rate=0.01, analyst_burst=1, unknown_key_rate=0.01,
                               unknown_key_burst=1, max_buckets=8)  # fmt: skip
    limited = RateLimit(protected_app(control), control, capped)

    async def main() -> None:
        async with client(limited) as c:
            assert (await c.get("/ping", headers=auth(key))).status_code == 200
        for i in range(50):
            async with client(limited, f"10.9.{i // 250}.{i % 250}") as c:
                assert (await c.get("/ping", headers=auth("atb_nope"))).status_code == 401
        assert limited.bucket_count() == 1 + 8  # the key's bucket is in its own table
        async with client(limited) as c:  # and still holds the key's spent budget
            assert (await c.get("/ping", headers=auth(key))).status_code == 429

    run(main)


def test_non_http_scopes_pass_through(control: ControlPlane) -> None:
    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    asyncio.run(RateLimit(inner, control)({"type": "lifespan"}, None, None))  # type: ignore[arg-type]
    assert seen == ["lifespan"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("ingest_rate", 0.0), ("analyst_burst", 0), ("unknown_key_rate", -1.0),
     ("max_buckets", 0), ("sweep_every_s", 0.0)],
)  # fmt: skip
def test_settings_refuse_budgets_that_cannot_work(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        RateLimitSettings(**{field: value})


def test_per_request_overhead_is_a_few_microseconds(control: ControlPlane) -> None:
    """Cost of the limiter on a known key's request, over calling the wrapped app directly.

    Measured on the development machine (2 cores, loaded): 2.3-2.4 µs per request, of which the
    SHA-256 of the key is 0.6 µs; the header scan, the extra coroutine layer, the dict lookup and
    the bucket arithmetic make up the rest. The bound below is loose so
    slow CI machines do not flake; the target is under 3 µs.
    """
    key = control.create_key("ingest", APP)

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        return None

    # Ingest budget raised: this loop runs far faster than the default 20,000/s allows.
    limited = RateLimit(inner, control, RateLimitSettings(ingest_rate=1e9, ingest_burst=10**9))
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/events",
        "client": ("10.0.0.1", 5000),
        "headers": [
            (b"host", b"collector.example"),
            (b"user-agent", b"attribo-sdk/1.0"),
            (b"content-type", b"application/json"),
            (b"content-length", b"512"),
            (b"authorization", f"Bearer {key}".encode()),
        ],
    }

    def drive(app: Any) -> None:
        try:  # noqa: SIM105 - contextlib.suppress would add its own cost to what is measured
            app(scope, None, None).send(None)
        except StopIteration:
            pass

    drive(limited)  # make the key's bucket
    n = 20_000
    bare = min(timeit.repeat(lambda: drive(inner), number=n, repeat=5)) / n
    wrapped = min(timeit.repeat(lambda: drive(limited), number=n, repeat=5)) / n
    overhead_us = (wrapped - bare) * 1e6
    print(f"rate limit overhead: {overhead_us:.2f} µs per request")
    assert overhead_us < 10
