"""Feed attributed installs and in-app events to the postback dispatcher, off the request path.

The collector hands over records after they are durable; a background task checks (with a
short-lived cache) whether the app has a template for that network and event, and only then
asks the dispatcher, which queues deliveries durably in the control database. A crash between
the acknowledgement and the hand-over can lose a postback (not an event): see the notes.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from attribo.control import ControlPlane
from attribo.events.record import StoredEvent
from attribo.postbacks.dispatcher import PostbackDispatcher

_log = logging.getLogger(__name__)
_CACHE_S = 5.0


def postback_fields(record: StoredEvent) -> dict[str, object]:
    """The macro values of an attributed record."""
    return {
        "event_id": record.event_id,
        "network": record.attributed_network,
        "campaign": record.attributed_campaign,
        "adset": record.attributed_adset,
        "ad": record.attributed_ad,
        "site_id": record.attributed_site_id,
        "click_id": record.click_id,
        "idfa": record.idfa,
        "gaid": record.gaid,
        "idfv": record.idfv,
        "android_id": record.android_id,
        "revenue": record.revenue,
        "currency": record.currency,
        "event_time": record.event_time,
        "install_time": record.event_time if record.type == "install" else None,
        "country": record.country,
        "platform": record.platform,
        "ip": record.ip,
        "match": record.match_type,
    }


class PostbackFeed:
    """A bounded queue between the collector and the dispatcher."""

    def __init__(
        self, control: ControlPlane, dispatcher: PostbackDispatcher, max_queued: int = 100_000
    ) -> None:
        self._control = control
        self._dispatcher = dispatcher
        self._queue: asyncio.Queue[tuple[str, str, dict[str, object]]] = asyncio.Queue(max_queued)
        self._wanted: dict[tuple[str, str, str], tuple[float, bool]] = {}
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def offer(self, records: list[StoredEvent]) -> None:
        """Queue the attributed installs and in-app events among `records` (never blocks)."""
        for record in records:
            if not record.attributed_network or record.attribution != "attributed":
                continue
            if record.type == "install":
                kind = "install"
            elif record.type == "event" and record.name:
                kind = record.name
            else:
                continue
            try:
                self._queue.put_nowait((record.app_id, kind, postback_fields(record)))
            except asyncio.QueueFull:
                self.dropped += 1

    async def start(self) -> None:
        """Start the dispatcher and the feeding task."""
        await self._dispatcher.start()
        self._task = asyncio.create_task(self._run(), name="attribo-postback-feed")

    async def close(self) -> None:
        """Hand over what is queued, then stop the dispatcher."""
        if self._task is not None:
            self._task.cancel()
        while not self._queue.empty():
            await self._submit(*self._queue.get_nowait())
        await self._dispatcher.close()

    async def _run(self) -> None:
        while True:
            app_id, kind, fields = await self._queue.get()
            await self._submit(app_id, kind, fields)

    async def _submit(self, app_id: str, kind: str, fields: dict[str, object]) -> None:
        network = str(fields["network"])
        now = time.monotonic()
        cached = self._wanted.get((app_id, network, kind))
        try:
            if cached is None or cached[0] <= now:
                templates = await asyncio.to_thread(
                    self._control.postbacks.matching_templates, app_id, network, kind
                )
                cached = (now + _CACHE_S, bool(templates))
                self._wanted[(app_id, network, kind)] = cached
            if cached[1]:
                await self._dispatcher.submit(app_id, kind, fields)
        except Exception:  # a bad record must not stop the feed
            _log.exception("postback submit failed for %s %s", app_id, kind)


class BackgroundPostbacks:
    """The feed and its dispatcher on an event loop of their own thread.

    For a process that serves no HTTP (`attribo worker`): every worker hands its own
    attributed records over, so postbacks go out whichever worker holds the app's partition.
    Deliveries are claimed row by row in the control database, so dispatchers in several
    processes (`attribo api` too) share the queue without sending one twice.
    """

    def __init__(self, control: ControlPlane) -> None:
        self._loop = asyncio.new_event_loop()
        self._feed = PostbackFeed(control, PostbackDispatcher(control))
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="attribo-postbacks", daemon=True
        )

    def start(self, timeout_s: float = 30) -> None:
        """Run the loop and start delivering (what the control database has pending too)."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._feed.start(), self._loop).result(timeout_s)

    def offer(self, records: list[StoredEvent]) -> None:
        """Queue attributed records from any thread (never blocks)."""
        self._loop.call_soon_threadsafe(self._feed.offer, records)

    def close(self, timeout_s: float = 60) -> None:
        """Hand over what is queued, let attempts under way finish, stop the loop."""
        try:
            asyncio.run_coroutine_threadsafe(self._feed.close(), self._loop).result(timeout_s)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout_s)
            self._loop.close()
