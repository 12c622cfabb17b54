"""A cluster collector's wait for live answers: the worker attributes, the collector answers.

Collectors keep no touch index (any of them may take any request), so an install or open is
published with this collector's reply subject and the worker that attributes the stream in
order sends the decision back on plain NATS. A repeated request reads the first decision from
the shared answer cache. If no answer comes in time (the worker is down or far behind) the
event is still stored, and the answer says `pending`: the export shows the decision later.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Protocol

import msgspec

PENDING: dict[str, Any] = {"status": "pending"}
_decode = msgspec.json.Decoder()


class AnswerCache(Protocol):
    """Where the worker keeps its answers for repeats (Redis in the cluster)."""

    def get(self, app_id: str, event_id: str) -> bytes | None:
        """The kept answer, or None."""
        ...


class AnswerSource(Protocol):
    """The log's side channel for answers (the NATS connection)."""

    async def subscribe_answers(self, subject: str, on_answer: Any) -> None:
        """Deliver each message on `subject` to `on_answer(bytes)` on the caller's loop."""
        ...


class RemoteAnswers:
    """Futures for answers this collector waits for, keyed by (app id, event id)."""

    def __init__(
        self, source: AnswerSource, cache: AnswerCache, namespace: str, timeout_s: float = 2.0
    ) -> None:
        self.subject = f"{namespace}.answers.{uuid.uuid4().hex}"
        self._source = source
        self._cache = cache
        self._timeout_s = timeout_s
        self._waiting: dict[tuple[str, str], list[asyncio.Future[dict[str, Any]]]] = {}
        self.timeouts = 0

    async def start(self) -> None:
        """Subscribe to this collector's reply subject (before the first request)."""
        await self._source.subscribe_answers(self.subject, self._on_answer)

    def expect(self, app_id: str, event_id: str) -> asyncio.Future[dict[str, Any]]:
        """A future for the event's answer; register it before publishing the event."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault((app_id, event_id), []).append(future)
        return future

    def cancel(self, app_id: str, event_id: str, future: asyncio.Future[dict[str, Any]]) -> None:
        """Stop waiting with this one future (others for the same event still wait)."""
        futures = self._waiting.get((app_id, event_id))
        if futures is not None:
            if future in futures:
                futures.remove(future)
            if not futures:
                del self._waiting[(app_id, event_id)]
        future.cancel()

    async def wait(
        self, app_id: str, event_id: str, future: asyncio.Future[dict[str, Any]]
    ) -> dict[str, Any]:
        """The worker's answer, or the cached one, or `pending` after the timeout."""
        try:
            return await asyncio.wait_for(asyncio.shield(future), self._timeout_s)
        except TimeoutError:
            self.cancel(app_id, event_id, future)
            self.timeouts += 1
            return self.cached(app_id, event_id) or dict(PENDING)

    async def repeat(self, app_id: str, event_id: str) -> dict[str, Any]:
        """A repeated request: the first copy's answer, waiting a little if it is in flight."""
        deadline = asyncio.get_running_loop().time() + self._timeout_s
        while True:
            answer = self.cached(app_id, event_id)
            if answer is not None:
                return answer
            if asyncio.get_running_loop().time() >= deadline:
                self.timeouts += 1
                return dict(PENDING)
            await asyncio.sleep(0.02)

    def cached(self, app_id: str, event_id: str) -> dict[str, Any] | None:
        """The answer the worker kept for the event, if any."""
        raw = self._cache.get(app_id, event_id)
        return None if raw is None else dict(_decode.decode(raw))

    def _on_answer(self, data: bytes) -> None:
        try:
            message = _decode.decode(data)
            key = (str(message["app_id"]), str(message["event_id"]))
            answer = dict(message["answer"])
        except (msgspec.DecodeError, KeyError, TypeError, ValueError):
            return  # not ours to crash on
        for future in self._waiting.pop(key, []):
            if not future.done():
                future.set_result(answer)
