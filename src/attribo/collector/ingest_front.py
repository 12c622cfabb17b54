"""`POST /v1/events` and `/v1/events/batch` as raw ASGI, in front of the Starlette app.

These two endpoints carry nearly all traffic. Served here without routing, middleware or
request objects they cost about half as much CPU per request as through Starlette, which
is what lets one process take thousands of single events a second. Any
other method on these paths gets 405 with `Allow: POST`; every other path goes on to the
wrapped application.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

import msgspec
from starlette.types import ASGIApp, Receive, Scope, Send

from attribo.attribution.answer import live_answer
from attribo.collector.http import HTTPError, bad_field, check_declared_length, too_large
from attribo.collector.ingest import now_ms
from attribo.collector.records import to_record
from attribo.collector.routes import CollectorContext
from attribo.events.types import Event
from attribo.events.validate import FieldError, decode_batch, decode_event
from attribo.log.base import LogFailed

Answer = tuple[int, dict[str, Any]]

_log = logging.getLogger(__name__)
_json = msgspec.json.Encoder()
_JSON_HEADERS = [(b"content-type", b"application/json")]


class _Headers:
    """The three request headers the ingestion endpoints read."""

    __slots__ = ("authorization", "content_length", "signature")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.authorization = self.content_length = self.signature = None
        for name, value in raw:
            if name == b"authorization":
                self.authorization = value.decode("latin-1")
            elif name == b"content-length":
                self.content_length = value.decode("latin-1")
            elif name == b"x-attribo-signature":
                self.signature = value.decode("latin-1")


class _ClientGone(Exception):
    """The client disconnected before its body arrived: there is no one to answer."""


def ingest_app(ctx: CollectorContext, authorization: str | None) -> str:
    """The app whose ingest key the caller holds (401/403 otherwise)."""
    if not authorization:
        raise bad_field("Authorization", "missing API key", 401, "unauthorized")
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise bad_field("Authorization", "expected 'Bearer <key>'", 401, "unauthorized")
    info = ctx.control.resolve_key(key.strip())
    if info is None:
        raise bad_field("Authorization", "unknown or revoked API key", 401, "unauthorized")
    if info.role != "ingest" or info.app_id is None:
        raise bad_field(
            "Authorization", "events are sent with an app's ingest key", 403, "forbidden"
        )
    return info.app_id


def signature_state(ctx: CollectorContext, header: str | None, app_id: str, body: bytes) -> bool:
    """True for a valid `X-Attribo-Signature`, False if absent, 401 if present and wrong."""
    if header is None:
        return False
    app = ctx.control.get_app(app_id)
    scheme, _, digest = header.partition("=")
    if app is None or scheme != "sha256":
        raise bad_field("X-Attribo-Signature", "expected 'sha256=<hex>'", 401, "bad_signature")
    expected = hmac.new(app.signing_secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, digest.strip().lower()):
        raise bad_field(
            "X-Attribo-Signature", "signature does not match the body", 401, "bad_signature"
        )
    return True


def _wrong_app(app_id: str, index: int | None = None) -> FieldError:
    return FieldError("app_id", f"this key cannot write events for app {app_id!r}", index)


class IngestFront:
    """Serve event posts directly; pass everything else to `app`."""

    def __init__(self, ctx: CollectorContext, app: ASGIApp) -> None:
        self._ctx = ctx
        self._app = app
        self._limit = ctx.settings.max_body_bytes
        self._max_future_ms = ctx.settings.max_future_s * 1000
        self._handlers = {"/v1/events": self._one, "/v1/events/batch": self._batch}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        handler = self._handlers.get(scope["path"]) if scope["type"] == "http" else None
        if handler is None:
            await self._app(scope, receive, send)
            return
        headers = _Headers(scope["headers"])
        extra: dict[str, str] = {}
        try:
            if scope["method"] != "POST":
                wrong = [FieldError("method", "Method Not Allowed")]
                raise HTTPError(405, "method_not_allowed", wrong, {"Allow": "POST"})
            app_id = ingest_app(self._ctx, headers.authorization)
            body = await self._read_body(headers, receive)
            status, answer = await handler(app_id, headers, body)
        except HTTPError as exc:
            status, extra = exc.status, exc.headers
            answer = {"error": exc.code, "detail": [d.as_dict() for d in exc.detail]}
        except LogFailed as exc:
            _log.error("event log failed: %s", exc)
            status, extra = 503, {"Retry-After": "5"}
            detail = FieldError("server", "the event log cannot write; nothing was stored")
            answer = {"error": "unavailable", "detail": [detail.as_dict()]}
        except _ClientGone:
            return
        payload = _json.encode(answer)
        response_headers = [
            *_JSON_HEADERS,
            (b"content-length", b"%d" % len(payload)),
            *((k.lower().encode(), v.encode()) for k, v in extra.items()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": payload})

    async def _read_body(self, headers: _Headers, receive: Receive) -> bytes:
        """The body, refused with 413 as soon as it passes the limit."""
        limit = self._limit
        check_declared_length(headers.content_length, limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _reject(self, errors: list[FieldError]) -> None:
        for error in errors:
            self._ctx.collector.counters.reject(error.field)

    async def _one(self, app_id: str, headers: _Headers, body: bytes) -> Answer:
        result = decode_event(body, now_ms(), self._max_future_ms)
        if isinstance(result, FieldError):
            self._reject([result])
            raise HTTPError(400, "invalid_event", [result])
        if result.app_id != app_id:
            self._reject([_wrong_app(result.app_id)])
            raise HTTPError(403, "forbidden", [_wrong_app(result.app_id)])
        signed = signature_state(self._ctx, headers.signature, app_id, body)
        if result.type in ("install", "open") and self._ctx.answers is not None:
            return 200, await self._answered_remotely(app_id, result, signed)
        collector = self._ctx.collector
        accepted, duplicates, records = await collector.ingest_records(
            app_id, [result], signed=signed
        )
        answer: dict[str, Any] = {"accepted": accepted, "duplicates": duplicates}
        if result.type in ("install", "open"):
            record = records[0] if records else to_record(result, now_ms())
            answer["attribution"] = live_answer(
                collector.attributor, record, bool(records), self._ctx.control.deep_link
            )
        return 200, answer

    async def _answered_remotely(self, app_id: str, event: Event, signed: bool) -> dict[str, Any]:
        """Cluster collectors: publish with our reply subject, answer with the worker's word."""
        answers = self._ctx.answers
        assert answers is not None
        future = answers.expect(app_id, event.event_id)
        try:
            accepted, duplicates, records = await self._ctx.collector.ingest_records(
                app_id, [event], signed=signed, reply=answers.subject
            )
        except BaseException:
            answers.cancel(app_id, event.event_id, future)
            raise
        if records:
            attribution = await answers.wait(app_id, event.event_id, future)
        else:  # a repeat: nothing was published, the first copy's answer is kept
            answers.cancel(app_id, event.event_id, future)
            attribution = await answers.repeat(app_id, event.event_id)
        return {"accepted": accepted, "duplicates": duplicates, "attribution": attribution}

    async def _batch(self, app_id: str, headers: _Headers, body: bytes) -> Answer:
        result = decode_batch(body, now_ms(), self._max_future_ms)
        if isinstance(result, FieldError):
            self._reject([result])
            raise HTTPError(400, "invalid_batch", [result])
        indexed, errors = result
        events: list[Event] = []
        for index, event in indexed:
            if event.app_id == app_id:
                events.append(event)
            else:
                errors.append(_wrong_app(event.app_id, index))
        if errors:
            errors.sort(key=lambda e: e.index or 0)
            self._reject(errors)
        if not events:
            if not errors:
                raise bad_field("events", "the batch has no events")
            forbidden = all(e.field == "app_id" and "cannot write" in e.message for e in errors)
            raise HTTPError(
                403 if forbidden else 400, "forbidden" if forbidden else "invalid_batch", errors
            )
        signed = signature_state(self._ctx, headers.signature, app_id, body)
        accepted, duplicates = await self._ctx.collector.ingest(app_id, events, signed=signed)
        answer: dict[str, Any] = {"accepted": accepted, "duplicates": duplicates}
        if errors:
            answer["rejected"] = len(errors)
            answer["detail"] = [e.as_dict() for e in errors]
        return 200, answer
