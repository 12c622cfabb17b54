"""LiveFeed: per-app fan-out with a bounded queue per client that drops instead of blocking."""

from __future__ import annotations

import asyncio
import json

from attribo.api.live_feed import LiveFeed, fan_out, live_json
from attribo.events.record import StoredEvent


def _record(app_id: str, event_id: str) -> StoredEvent:
    return StoredEvent(
        app_id=app_id,
        event_id=event_id,
        type="install",
        event_time=1,
        received_at=2,
        ip="198.51.100.7",
        idfa="abc",
        attribution="organic",
    )


def _frames(chunks: list[bytes]) -> list[dict]:
    return [json.loads(c.split(b"data: ", 1)[1]) for c in chunks if c.startswith(b"event: events")]


def test_offer_without_watchers_keeps_nothing() -> None:
    feed = LiveFeed()
    feed.offer([_record("a", "1")])
    assert feed.watchers("a") == 0 and feed.dropped == 0


def test_a_slow_client_loses_events_and_is_told() -> None:
    async def scenario() -> tuple[list[bytes], int]:
        feed = LiveFeed(queue_size=2)
        stream = feed.stream("a", max_s=0.5, keepalive_s=0.05)
        hello = await anext(stream)
        assert hello.startswith(b"retry:")
        assert feed.watchers("a") == 1
        feed.offer([_record("a", str(i)) for i in range(5)] + [_record("b", "x")])
        chunks = [chunk async for chunk in stream]
        assert feed.watchers("a") == 0  # unsubscribed when the stream ended
        return chunks, feed.dropped

    chunks, dropped = asyncio.run(scenario())
    frames = _frames(chunks)
    assert [e["event_id"] for f in frames for e in f["events"]] == ["0", "1"]
    assert frames[0]["dropped"] == 3 and dropped == 3
    assert b": keepalive\n\n" in chunks


def test_live_json_leaves_device_ids_and_addresses_out() -> None:
    shown = live_json(_record("a", "1"))
    assert shown["event_id"] == "1" and shown["attribution"] == "organic"
    assert "ip" not in shown and "idfa" not in shown


def test_fan_out_calls_every_hook_in_order() -> None:
    seen: list[str] = []
    hook = fan_out(lambda r: seen.append("first"), lambda r: seen.append("second"))
    hook([_record("a", "1")])
    assert seen == ["first", "second"]
