"""The live feed across processes: workers send the API what its watchers want, over NATS.

In a split cluster `attribo worker`s attribute the records while `attribo api` serves
`/v1/live`. The API keeps the apps it has watchers for in `RedisLiveInterest`; a worker reads
that set at most every `check_s` and publishes the live fields (`live_json`) of those apps'
records on plain NATS (`<namespace>.live`), one message per app and batch. Fire and forget,
like the feed itself: a watcher may miss records while interest propagates, ingestion never
waits on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec

from attribo.api.live_feed import LiveFeed, live_json
from attribo.events.record import StoredEvent
from attribo.hotstate.redis_live import RedisLiveInterest

_log = logging.getLogger(__name__)
_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


def live_subject(namespace: str) -> str:
    """The plain NATS subject live records travel on."""
    return f"{namespace}.live"


class LiveRelay:
    """A worker's side: publish the watched apps' records (call from the worker's thread)."""

    def __init__(
        self,
        interest: RedisLiveInterest,
        publish: Callable[[list[tuple[str, bytes]]], None],
        namespace: str,
        check_s: float = 2.0,
    ) -> None:
        self._interest = interest
        self._publish = publish
        self._subject = live_subject(namespace)
        self._check_s = check_s
        self._next_check = 0.0
        self._wanted: set[str] = set()
        self.published = 0  # records sent

    def offer(self, records: list[StoredEvent]) -> None:
        """Publish the records of watched apps; never raises (the feed is best effort)."""
        try:
            now = time.monotonic()
            if now >= self._next_check:
                self._next_check = now + self._check_s
                self._wanted = self._interest.wanted()
            if not self._wanted:
                return
            by_app: dict[str, list[dict[str, Any]]] = {}
            for record in records:
                if record.app_id in self._wanted:
                    by_app.setdefault(record.app_id, []).append(live_json(record))
            if by_app:
                self._publish(
                    [
                        (self._subject, _encoder.encode({"app_id": app, "events": events}))
                        for app, events in by_app.items()
                    ]
                )
                self.published += sum(len(events) for events in by_app.values())
        except Exception:  # Redis or NATS away: the live view pauses, attribution goes on
            _log.exception("live relay failed")


async def relay_into(
    feed: LiveFeed,
    subscribe: Callable[[str, Callable[[bytes], None]], Any],
    interest: RedisLiveInterest,
    namespace: str,
    renew_s: float = 3.0,
) -> None:
    """The API's side, until cancelled: feed what workers publish, renew what is watched."""

    def deliver(data: bytes) -> None:
        with contextlib.suppress(msgspec.DecodeError, KeyError, TypeError):
            message = _decoder.decode(data)
            feed.offer_live(str(message["app_id"]), list(message["events"]))

    await subscribe(live_subject(namespace), deliver)
    while True:
        apps = feed.watched_apps()
        if apps:
            try:
                await asyncio.to_thread(interest.want, apps)
            except Exception:  # Redis away: interest lapses, the view pauses
                _log.exception("could not renew live interest")
        await asyncio.sleep(renew_s)
