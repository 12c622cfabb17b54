"""The live feed of a split cluster: a worker relays watched apps' records to the API's feed.

On the machine's NATS and Redis: the API side renews its watched apps in Redis and feeds what
arrives on NATS to its `/v1/live` clients; the worker side publishes the records of watched
apps only, so an app nobody watches costs no message.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from cluster_services import NATS_URL, REDIS_URL, drop_namespace, service_missing

from attribo.api.live_feed import LiveFeed
from attribo.events.record import StoredEvent

pytest.importorskip("nats", reason="nats-py is in the cluster extra")

from attribo.api.live_relay import LiveRelay, relay_into
from attribo.hotstate.redis_live import RedisLiveInterest
from attribo.log.nats import NatsLog


def _record(app_id: str, event_id: str) -> StoredEvent:
    now = int(time.time() * 1000)
    return StoredEvent(
        app_id=app_id,
        event_id=event_id,
        type="install",
        event_time=now,
        received_at=now,
        platform="ios",
        idfa="IDFA-SECRET",
        ip="10.0.0.1",
        attribution="attributed",
        attributed_network="meta",
    )


async def _frames(feed: LiveFeed, app_id: str, want: int, max_s: float) -> list[dict]:
    """The events a watcher of `app_id` receives, until `want` of them or `max_s`."""
    events: list[dict] = []
    async for frame in feed.stream(app_id, max_s, keepalive_s=0.2):
        if frame.startswith(b"event: events"):
            events += json.loads(frame.split(b"data: ", 1)[1])["events"]
            if len(events) >= want:
                break
    return events


def test_worker_relays_only_watched_apps_to_the_api_feed(namespace: str) -> None:
    try:
        log = NatsLog(NATS_URL, namespace, connect_timeout_s=2.0)
    except Exception as exc:  # any connection failure means no server
        service_missing(f"NATS is not reachable at {NATS_URL}: {exc}")
        return
    interest = RedisLiveInterest.from_url(REDIS_URL, namespace, ttl_ms=5_000)
    relay = LiveRelay(interest, log.publish_answers, namespace, check_s=0.1)
    feed = LiveFeed()

    async def scenario() -> tuple[list[dict], int]:
        api = asyncio.create_task(
            relay_into(feed, log.subscribe_answers, interest, namespace, renew_s=0.1)
        )
        watcher = asyncio.create_task(_frames(feed, "watched.app", want=3, max_s=20))
        deadline = time.monotonic() + 10
        while "watched.app" not in interest.wanted():  # the API told the workers
            assert time.monotonic() < deadline, "interest never reached Redis"
            await asyncio.sleep(0.05)
        sent = 0
        while not watcher.done() and time.monotonic() < deadline + 10:
            batch = [_record("watched.app", f"w{sent}"), _record("other.app", f"o{sent}")]
            await asyncio.to_thread(relay.offer, batch)  # from another thread, as the worker
            sent += 1
            await asyncio.sleep(0.1)
        api.cancel()
        return await watcher, sent

    try:
        events, sent = asyncio.run(scenario())
        assert len(events) >= 3
        assert {e["event_id"][0] for e in events} == {"w"}  # the other app's stay home
        assert events[0]["network"] == "meta" and events[0]["attribution"] == "attributed"
        shown = json.dumps(events)
        assert "IDFA-SECRET" not in shown and "10.0.0.1" not in shown  # no device ids leave
        assert relay.published == sent  # one per batch: the watched app's record alone
        # Nobody watches any more: once interest lapses, nothing is published.
        interest.want([])
        time.sleep(5.2)
        before = relay.published
        relay.offer([_record("watched.app", "late")])
        assert relay.published == before
    finally:
        log.close()
        drop_namespace(namespace)
