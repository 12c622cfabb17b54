"""Postbacks delivered over real HTTP to a local receiver: rendering, retries, dedup, restart."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

from attribo.control import ControlPlane, DeliveryInfo
from attribo.postbacks import PostbackDispatcher, PostbackSettings, TemplateError

if TYPE_CHECKING:  # a fixture type only: test dirs are not packages
    from conftest import Receiver

APP = "com.example.game"  # created by the `control` fixture

FAST = PostbackSettings(
    max_attempts=5, base_delay_s=0.1, max_delay_s=1.0, timeout_s=2.0, poll_interval_s=0.05
)
T = TypeVar("T")

INSTALL = {
    "event_id": "ins-1",
    "network": "facebook",
    "click_id": "c/1 2&x=y",
    "idfa": "AAAA-BBBB",
    "campaign": "Été 2026",
    "campaign_id": "42",
    "platform": "ios",
    "install_time": 1_767_323_045_000,
    "country": "FR",
    "ip": "203.0.113.9",
    "match": "click_id",
}


def run(main: Callable[[], Awaitable[T]]) -> T:
    """Run one async test body on a fresh event loop."""
    return asyncio.run(main())  # type: ignore[arg-type]


async def settled(control: ControlPlane, n: int = 1, timeout: float = 10.0) -> list[DeliveryInfo]:
    """Wait until the app's delivery log holds `n` rows, none of them pending."""
    deadline = time.monotonic() + timeout
    while True:
        rows = control.postbacks.list_deliveries(APP)
        if len(rows) >= n and all(r.status != "pending" for r in rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries did not settle: {rows}")
        await asyncio.sleep(0.02)


async def template(d: PostbackDispatcher, receiver: Receiver, query: str, **kw: str) -> int:
    """Create a template on the receiver (path /pb) and return its id."""
    kw.setdefault("network", "facebook")
    kw.setdefault("event", "install")
    created = await d.create_template(APP, url=receiver.url("/pb?" + query), **kw)  # type: ignore[arg-type]
    return created.id


def test_install_postback_arrives_rendered_and_url_encoded(
    control: ControlPlane, receiver: Receiver
) -> None:
    async def main() -> None:
        async with PostbackDispatcher(control, FAST) as d:
            await template(
                d, receiver, "click={click_id}&idfa={idfa}&camp={campaign}&cid={campaign_id}"
                "&t={install_time}&ip={ip}&app={app_id}&ev={event_id}&m={match}&gaid={gaid}",
            )  # fmt: skip
            assert await d.submit(APP, "install", INSTALL) == 1
            (got,) = await receiver.wait_for(1)
            rows = await settled(control)
        assert got.method == "GET"
        assert got.path == "/pb"
        assert got.query == {
            "click": ["c/1 2&x=y"], "idfa": ["AAAA-BBBB"], "camp": ["Été 2026"], "cid": ["42"],
            "t": ["1767323045000"], "ip": ["203.0.113.9"], "app": [APP], "ev": ["ins-1"],
            "m": ["click_id"], "gaid": [""],
        }  # fmt: skip
        assert got.headers["host"] == f"127.0.0.1:{receiver.port}"
        assert got.headers["user-agent"].startswith("attribo-postback")
        (row,) = rows
        assert (row.status, row.attempts, row.last_http_status, row.last_error) == (
            "delivered", 1, 200, None
        )  # fmt: skip
        assert row.url == receiver.url("/pb?" + got.target.split("?", 1)[1])
        assert row.dedup_key == f"{row.template_id}:ins-1"

    run(main)


def test_event_postback_only_for_matching_network_and_event(
    control: ControlPlane, receiver: Receiver
) -> None:
    async def main() -> None:
        async with PostbackDispatcher(control, FAST) as d:
            await d.create_template(
                APP, "facebook", "purchase", receiver.url("/purchase"), "POST",
                '{"event": "{event_name}", "revenue": "{revenue}", "cur": "{currency}"}',
            )  # fmt: skip
            await template(d, receiver, "other=1", event="level_up")
            await template(d, receiver, "other=2", network="google", event="purchase")
            disabled = await template(d, receiver, "other=3", event="purchase")
            control.postbacks.delete_template(disabled)
            fields: dict[str, object] = {"event_id": "e-1", "network": "facebook",
                                         "revenue": 4.99, "currency": "EUR"}  # fmt: skip
            assert await d.submit(APP, "purchase", fields) == 1
            assert await d.submit(APP, "purchase", {"event_id": "e-2", "network": None}) == 0
            assert await d.submit(APP, "tutorial", {"event_id": "e-3", "network": "fb"}) == 0
            (got,) = await receiver.wait_for(1)
            await settled(control)
            await asyncio.sleep(0.2)
        assert receiver.count() == 1
        assert (got.method, got.path) == ("POST", "/purchase")
        assert got.headers["content-type"] == "application/json"
        assert json.loads(got.body) == {"event": "purchase", "revenue": "4.99", "cur": "EUR"}

    run(main)


def test_retries_back_off_then_succeed(control: ControlPlane, receiver: Receiver) -> None:
    receiver.script(receiver.answer(500), receiver.answer(503), receiver.answer(500))

    async def main() -> None:
        async with PostbackDispatcher(control, FAST) as d:
            await template(d, receiver, "c={click_id}")
            await d.submit(APP, "install", INSTALL)
            got = await receiver.wait_for(4)
            (row,) = await settled(control)
        gaps = [b.at - a.at for a, b in itertools.pairwise(got)]
        # Jittered waits lie in [ceiling/2, ceiling] with ceilings 0.1, 0.2, 0.4 s.
        for gap, ceiling in zip(gaps, (0.1, 0.2, 0.4), strict=True):
            assert ceiling / 2 - 0.01 <= gap <= ceiling + 0.5, gaps
        assert {r.target for r in got} == {got[0].target}
        assert (row.status, row.attempts, row.last_http_status) == ("delivered", 4, 200)

    run(main)


def test_retry_after_is_honoured(control: ControlPlane, receiver: Receiver) -> None:
    receiver.script(receiver.answer(429, {"Retry-After": "1"}))

    async def main() -> None:
        async with PostbackDispatcher(control, FAST) as d:
            await template(d, receiver, "x=1")
            await d.submit(APP, "install", INSTALL)
            first, second = await receiver.wait_for(2)
            (row,) = await settled(control)
        assert second.at - first.at >= 0.95  # backoff alone would be at most 0.1 s
        assert (row.status, row.attempts) == ("delivered", 2)

    run(main)


@pytest.mark.parametrize("status", [400, 404, 410, 302])
def test_permanent_answers_stop_at_once(
    control: ControlPlane, receiver: Receiver, status: int
) -> None:
    receiver.script(receiver.answer(status, {"Location": receiver.url("/elsewhere")}))

    async def main() -> None:
        async with PostbackDispatcher(control, FAST) as d:
            await template(d, receiver, "x=1")
            await d.submit(APP, "install", INSTALL)
            (row,) = await settled(control)
            await asyncio.sleep(0.4)  # long enough for a retry or a followed redirect
        assert receiver.count() == 1
        assert (row.status, row.attempts, row.last_http_status) == ("failed", 1, status)

    run(main)


def test_gives_up_after_max_attempts(control: ControlPlane, receiver: Receiver) -> None:
    receiver.script(*[receiver.answer(500)] * 10)
    settings = PostbackSettings(max_attempts=3, base_delay_s=0.02, max_delay_s=0.05,
                                timeout_s=2.0, poll_interval_s=0.05)  # fmt: skip

    async def main() -> None:
        async with PostbackDispatcher(control, settings) as d:
            await template(d, receiver, "x=1")
            await d.submit(APP, "install", INSTALL)
            (row,) = await settled(control)
            await asyncio.sleep(0.3)
        assert receiver.count() == 3
        assert (row.status, row.attempts, row.last_http_status) == ("failed", 3, 500)
        assert row.last_error is not None and "gave up after 3 attempts" in row.last_error

    run(main)


def test_timeouts_and_refused_connections_are_retried(
    control: ControlPlane, receiver: Receiver
) -> None:
    receiver.script(receiver.answer(200, delay=1.5))
    settings = PostbackSettings(max_attempts=4, base_delay_s=0.05, max_delay_s=0.1,
                                timeout_s=0.3, poll_interval_s=0.05)  # fmt: skip

    async def main() -> None:
        async with PostbackDispatcher(control, settings) as d:
            await template(d, receiver, "slow=1")
            await d.submit(APP, "install", INSTALL)
            await receiver.wait_for(2)
            (row,) = await settled(control)
            assert (row.status, row.attempts) == ("delivered", 2)
            # Nothing listens on port 9 of 127.0.0.1 (discard): every attempt is refused.
            await d.create_template(APP, "facebook", "install", "http://127.0.0.1:9/x")
            await d.submit(APP, "install", {**INSTALL, "event_id": "ins-2"})
            rows = await settled(control, 2)
        refused = next(r for r in rows if r.event_id == "ins-2" and "127.0.0.1:9" in r.url)
        assert (refused.status, refused.attempts, refused.last_http_status) == ("failed", 4, None)
        assert refused.last_error is not None and "gave up" in refused.last_error

    run(main)


def test_dedup_one_delivery_per_event_even_if_submitted_twice(
    control: ControlPlane, receiver: Receiver, control_path: Path
) -> None:
    async def main() -> None:
        async with PostbackDispatcher(control, FAST) as d:
            await template(d, receiver, "c={click_id}")
            counts = await asyncio.gather(*(d.submit(APP, "install", INSTALL) for _ in range(5)))
            assert sorted(counts) == [0, 0, 0, 0, 1]
            await receiver.wait_for(1)
            await settled(control)
            assert await d.submit(APP, "install", INSTALL) == 0
        other = ControlPlane.open(control_path)  # a restarted process sees the same keys
        try:
            async with PostbackDispatcher(other, FAST) as d2:
                assert await d2.submit(APP, "install", INSTALL) == 0
                await asyncio.sleep(0.3)
        finally:
            other.close()
        assert receiver.count() == 1
        assert len(control.postbacks.list_deliveries(APP)) == 1

    run(main)


def test_restart_resumes_pending_delivery_exactly_once(
    control: ControlPlane, receiver: Receiver, control_path: Path
) -> None:
    receiver.script(receiver.answer(503))
    slow = PostbackSettings(max_attempts=5, base_delay_s=0.6, max_delay_s=1.0, timeout_s=2.0,
                            poll_interval_s=0.05)  # fmt: skip

    async def first_process() -> None:
        async with PostbackDispatcher(control, slow) as d:
            await template(d, receiver, "c={click_id}")
            await d.submit(APP, "install", INSTALL)
            await receiver.wait_for(1)
            deadline = time.monotonic() + 5
            while control.postbacks.list_deliveries(APP)[0].last_http_status != 503:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
        # Closed mid-retry: the retry (0.3-0.6 s away) is in the log, not in anyone's memory.

    run(first_process)
    (row,) = control.postbacks.list_deliveries(APP)
    assert (row.status, row.attempts, receiver.count()) == ("pending", 1, 1)

    async def second_process() -> None:
        plane = ControlPlane.open(control_path)
        try:
            async with PostbackDispatcher(plane, slow):
                await receiver.wait_for(2)
                await settled(plane)
                await asyncio.sleep(1.0)  # any duplicate would arrive within a backoff period
        finally:
            plane.close()

    run(second_process)
    (row,) = control.postbacks.list_deliveries(APP)
    assert (row.status, row.attempts, row.last_http_status) == ("delivered", 2, 200)
    assert receiver.count() == 2  # one failed try before the restart, one success after


def test_private_targets_refused_unless_the_app_allows_them(
    control: ControlPlane, receiver: Receiver
) -> None:
    async def main() -> None:
        async with PostbackDispatcher(control, FAST) as d:
            allowed = await template(d, receiver, "c={click_id}")  # app allows private: fine
            control.set_app_settings(APP, {"allow_private_postbacks": False})
            for url in (receiver.url(), f"http://localhost:{receiver.port}/pb",
                        "http://[::1]/x", "http://[::ffff:127.0.0.1]/x", "http://10.1.2.3/",
                        "http://169.254.169.254/latest/meta-data/"):  # fmt: skip
                with pytest.raises(TemplateError, match="refused address") as info:
                    await d.create_template(APP, "facebook", "install", url)
                assert info.value.field == "url"
            # At delivery time too: the template predates the change of setting.
            assert await d.submit(APP, "install", INSTALL) == 1
            (row,) = await settled(control)
            await asyncio.sleep(0.2)
        assert row.template_id == allowed
        assert (row.status, row.attempts, row.last_http_status) == ("failed", 1, None)
        assert row.last_error is not None and "refused" in row.last_error
        assert "loopback" in row.last_error
        assert receiver.count() == 0

    run(main)


def test_hostname_is_sent_as_host_while_connecting_to_the_checked_address(
    control: ControlPlane, receiver: Receiver
) -> None:
    async def main() -> None:
        async with PostbackDispatcher(control, FAST) as d:
            await d.create_template(
                APP, "facebook", "install", f"http://localhost:{receiver.port}/pb?c={{click_id}}"
            )
            await d.submit(APP, "install", INSTALL)
            (got,) = await receiver.wait_for(1)
            (row,) = await settled(control)
        assert got.headers["host"] == f"localhost:{receiver.port}"
        assert row.status == "delivered"

    run(main)


def test_concurrency_is_bounded(control: ControlPlane, receiver: Receiver) -> None:
    receiver.script(*[receiver.answer(200, delay=0.2)] * 6)
    settings = PostbackSettings(concurrency=2, timeout_s=2.0, poll_interval_s=0.05)

    async def main() -> None:
        async with PostbackDispatcher(control, settings) as d:
            await template(d, receiver, "e={event_id}")
            started = time.monotonic()
            for i in range(6):
                await d.submit(APP, "install", {**INSTALL, "event_id": f"ins-{i}"})
            await receiver.wait_for(6)
            await settled(control, 6)
            elapsed = time.monotonic() - started
        assert receiver.max_active == 2
        assert elapsed >= 0.59  # three rounds of two 0.2 s answers
        assert sorted(r.query["e"][0] for r in receiver.requests) == [f"ins-{i}" for i in range(6)]

    run(main)
