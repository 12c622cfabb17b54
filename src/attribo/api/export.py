"""`GET /v1/events/export`: raw events as JSON lines, for one app the key may read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from attribo.api.auth import readable_app
from attribo.collector.http import bad_field
from attribo.control import ControlPlane
from attribo.store.base import EventQuery, Store

_TYPES = frozenset({"click", "impression", "install", "open", "event"})
_json = msgspec.json.Encoder()


def parse_time(name: str, value: str | None) -> int | None:
    """Epoch milliseconds from epoch ms digits or an RFC 3339 string with an offset."""
    if value is None or value == "":
        return None
    if value.isascii() and value.isdigit():  # str.isdigit also takes "³" and "٣"
        if len(value) > 15:
            raise bad_field(name, "epoch milliseconds out of range")
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise bad_field(name, "expected epoch milliseconds or an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise bad_field(name, "an RFC 3339 time needs a UTC offset")
    return int(moment.timestamp() * 1000)


def export_routes(control: ControlPlane, store: Store) -> list[Route]:
    """The raw export route."""

    async def export_events(request: Request) -> Response:
        app_id = readable_app(control, request)
        types = tuple(t for t in (request.query_params.get("type") or "").split(",") if t)
        for kind in types:
            if kind not in _TYPES:
                raise bad_field("type", f"unknown event type {kind!r}")
        query = EventQuery(
            app_id=app_id,
            types=types,
            since_ms=parse_time("since", request.query_params.get("since")),
            until_ms=parse_time("until", request.query_params.get("until")),
        )

        def lines() -> Iterator[bytes]:
            for chunk in store.iter_events(query):
                yield b"".join(_json.encode(row) + b"\n" for row in chunk)

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    return [Route("/v1/events/export", export_events, methods=["GET"])]
