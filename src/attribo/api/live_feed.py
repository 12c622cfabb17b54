"""`GET /v1/live`: stored events and their attribution as Server-Sent Events, per app.

The collector hands every durable batch to `LiveFeed.offer` on the event loop. Each client
has its own bounded queue; a slow client loses events (counted, and told so in the stream)
instead of slowing ingestion, and with no clients `offer` returns at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from attribo.api.auth import readable_app
from attribo.collector.http import bad_field
from attribo.control import ControlPlane
from attribo.events.record import StoredEvent

Hook = Callable[[list[StoredEvent]], None]
_encoder = msgspec.json.Encoder()


def fan_out(*hooks: Hook) -> Hook:
    """One `on_durable` hook that calls each of `hooks` in turn."""

    def offer(records: list[StoredEvent]) -> None:
        for hook in hooks:
            hook(records)

    return offer


def live_json(record: StoredEvent) -> dict[str, Any]:
    """The fields a live view shows; no device ids or IP addresses leave the server."""
    return {
        "event_id": record.event_id,
        "type": record.type,
        "event_time": record.event_time,
        "received_at": record.received_at,
        "platform": record.platform,
        "country": record.country,
        "name": record.name,
        "revenue": record.revenue,
        "currency": record.currency,
        "network": record.network or record.attributed_network,
        "campaign": record.campaign or record.attributed_campaign,
        "attribution": record.attribution,
        "match": record.match_type,
    }


class _Client:
    """One subscriber: a bounded queue and how much it missed."""

    __slots__ = ("dropped", "queue")

    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(size)
        self.dropped = 0


class LiveFeed:
    """Fan stored records out to the clients watching their app."""

    def __init__(self, queue_size: int = 2000) -> None:
        self._queue_size = queue_size
        self._clients: dict[str, set[_Client]] = {}
        self.dropped = 0

    def offer(self, records: list[StoredEvent]) -> None:
        """Queue `records` for the watchers of their app; never blocks, drops when full."""
        if not self._clients:
            return
        for record in records:
            clients = self._clients.get(record.app_id)
            if clients:
                self._put(clients, live_json(record))

    def offer_live(self, app_id: str, items: list[dict[str, Any]]) -> None:
        """Queue records already in their live form (relayed from a worker process)."""
        clients = self._clients.get(app_id)
        if clients:
            for item in items:
                self._put(clients, item)

    def _put(self, clients: set[_Client], item: dict[str, Any]) -> None:
        for client in clients:
            try:
                client.queue.put_nowait(item)
            except asyncio.QueueFull:
                client.dropped += 1
                self.dropped += 1

    def watched_apps(self) -> list[str]:
        """The apps with at least one watcher."""
        return list(self._clients)

    def watchers(self, app_id: str) -> int:
        """How many clients watch `app_id`."""
        return len(self._clients.get(app_id, ()))

    async def stream(
        self, app_id: str, max_s: float, keepalive_s: float = 15.0, batch: int = 500
    ) -> AsyncIterator[bytes]:
        """SSE frames for `app_id` for up to `max_s` seconds; the browser reconnects after."""
        client = _Client(self._queue_size)
        self._clients.setdefault(app_id, set()).add(client)
        deadline = time.monotonic() + max_s
        try:
            yield b"retry: 1000\nevent: hello\ndata: {}\n\n"
            while (left := deadline - time.monotonic()) > 0:
                try:
                    first = await asyncio.wait_for(client.queue.get(), min(left, keepalive_s))
                except TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                records = [first]
                while len(records) < batch and not client.queue.empty():
                    records.append(client.queue.get_nowait())
                body = {"events": records, "dropped": client.dropped}
                yield b"event: events\ndata: " + _encoder.encode(body) + b"\n\n"
        finally:
            watching = self._clients.get(app_id)
            if watching is not None:
                watching.discard(client)
                if not watching:
                    del self._clients[app_id]


def live_routes(control: ControlPlane, feed: LiveFeed) -> list[Route]:
    """The live stream route (admin keys, or an analyst key of the app)."""

    async def live(request: Request) -> Response:
        app_id = readable_app(control, request)
        if control.get_app(app_id) is None:
            raise bad_field("app_id", f"no app {app_id!r}", 404, "not_found")
        raw = request.query_params.get("max_s", "300")
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 3600:
            raise bad_field("max_s", "max_s must be a whole number of seconds, 1-3600")
        return StreamingResponse(
            feed.stream(app_id, float(raw)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return [Route("/v1/live", live, methods=["GET"])]
