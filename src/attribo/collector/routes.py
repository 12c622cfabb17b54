"""Collector endpoints: `/v1/events`, `/v1/events/batch`, `/c/{link_id}`, `/i/{link_id}`."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from attribo.collector.enrich import parse_user_agent
from attribo.collector.http import HTTPError, bad_field, bearer_key, json_response, read_body
from attribo.collector.ingest import Collector, now_ms
from attribo.config import Settings
from attribo.control import ControlPlane
from attribo.events.types import Device, Event, Source
from attribo.events.validate import FieldError, decode_batch, decode_event

_LINK_PARAMS = ("click_id", "idfa", "gaid", "campaign", "adset", "ad", "site_id")


@dataclass
class CollectorContext:
    """What the collector's endpoints need, handed in by whoever composes the server."""

    settings: Settings
    control: ControlPlane
    collector: Collector


def ingest_app(ctx: CollectorContext, request: Request) -> str:
    """The app whose ingest key the caller holds (401/403 otherwise)."""
    info = ctx.control.resolve_key(bearer_key(request))
    if info is None:
        raise bad_field("Authorization", "unknown or revoked API key", 401, "unauthorized")
    if info.role != "ingest" or info.app_id is None:
        raise bad_field(
            "Authorization", "events are sent with an app's ingest key", 403, "forbidden"
        )
    return info.app_id


def signature_state(ctx: CollectorContext, request: Request, app_id: str, body: bytes) -> bool:
    """True for a valid `X-Attribo-Signature`, False if absent, 401 if present and wrong."""
    header = request.headers.get("x-attribo-signature")
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


def _count_rejects(ctx: CollectorContext, errors: list[FieldError]) -> None:
    for error in errors:
        ctx.collector.counters.reject(error.field)


def collector_routes(ctx: CollectorContext) -> list[Route]:
    """The collector's routes, bound to `ctx`."""
    limit = ctx.settings.max_body_bytes
    max_future_ms = ctx.settings.max_future_s * 1000

    async def post_event(request: Request) -> Response:
        app_id = ingest_app(ctx, request)
        body = await read_body(request, limit)
        result = decode_event(body, now_ms(), max_future_ms)
        if isinstance(result, FieldError):
            _count_rejects(ctx, [result])
            raise HTTPError(400, "invalid_event", [result])
        if result.app_id != app_id:
            _count_rejects(ctx, [_wrong_app(result.app_id)])
            raise HTTPError(403, "forbidden", [_wrong_app(result.app_id)])
        signed = signature_state(ctx, request, app_id, body)
        accepted, duplicates = await ctx.collector.ingest(app_id, [result], signed=signed)
        return json_response({"accepted": accepted, "duplicates": duplicates})

    async def post_batch(request: Request) -> Response:
        app_id = ingest_app(ctx, request)
        body = await read_body(request, limit)
        result = decode_batch(body, now_ms(), max_future_ms)
        if isinstance(result, FieldError):
            _count_rejects(ctx, [result])
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
            _count_rejects(ctx, errors)
        if not events:
            if not errors:
                raise bad_field("events", "the batch has no events")
            forbidden = all(e.field == "app_id" and "cannot write" in e.message for e in errors)
            raise HTTPError(
                403 if forbidden else 400, "forbidden" if forbidden else "invalid_batch", errors
            )
        signed = signature_state(ctx, request, app_id, body)
        accepted, duplicates = await ctx.collector.ingest(app_id, events, signed=signed)
        answer: dict[str, Any] = {"accepted": accepted, "duplicates": duplicates}
        if errors:
            answer["rejected"] = len(errors)
            answer["detail"] = [e.as_dict() for e in errors]
        return json_response(answer)

    async def link_touch(request: Request, kind: str) -> tuple[Event, Any]:
        link = ctx.control.get_link(request.path_params["link_id"])
        if link is None:
            raise HTTPError(404, "not_found", [FieldError("link_id", "no such tracking link")])
        params: dict[str, str] = {}
        for name in _LINK_PARAMS:
            value = request.query_params.get(name)
            if value:
                cap = 64 if name in ("idfa", "gaid") else 256
                if len(value) > cap:
                    raise bad_field(name, f"longer than {cap} characters")
                params[name] = value
        user_agent = request.headers.get("user-agent", "")[:1024] or None
        ip = request.client.host if request.client else None
        platform = parse_user_agent(user_agent).platform if user_agent else None
        event_id = uuid.uuid4().hex
        click_id = params.get("click_id") or (event_id if kind == "click" else None)
        event = Event(
            event_id=event_id,
            type=kind,  # type: ignore[arg-type]
            app_id=link.app_id,
            timestamp=now_ms(),
            device=Device(
                platform=platform,  # type: ignore[arg-type]
                idfa=params.get("idfa"),
                gaid=params.get("gaid"),
                ip=ip,
                user_agent=user_agent,
            ),
            source=Source(
                network=link.network,
                campaign=params.get("campaign") or link.campaign,
                adset=params.get("adset") or link.adset,
                ad=params.get("ad") or link.ad,
                site_id=params.get("site_id"),
                click_id=click_id,
            ),
        )
        await ctx.collector.ingest(link.app_id, [event], link_id=link.link_id)
        return event, link

    async def click(request: Request) -> Response:
        event, link = await link_touch(request, "click")
        app = ctx.control.get_app(link.app_id)
        urls = app.store_urls if app is not None else {}
        platform = event.device.platform if event.device else None
        target = urls.get(platform or "") or urls.get("android") or urls.get("ios")
        if not target:
            raise HTTPError(
                404, "not_found", [FieldError("store_urls", "the app has no store URL")]
            )
        if target == urls.get("android") and event.source and event.source.click_id:
            target = _with_referrer(target, event.source.click_id)
        return RedirectResponse(target, status_code=302)

    async def impression(request: Request) -> Response:
        await link_touch(request, "impression")
        return Response(status_code=204)

    return [
        Route("/v1/events", post_event, methods=["POST"]),
        Route("/v1/events/batch", post_batch, methods=["POST"]),
        Route("/c/{link_id}", click, methods=["GET"]),
        Route("/i/{link_id}", impression, methods=["GET"]),
    ]


def _with_referrer(url: str, click_id: str) -> str:
    """Pass the click id through Google Play's install referrer, for a click_id match."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "referrer"]
    query.append(("referrer", urlencode({"attribo_click_id": click_id})))
    return urlunsplit(parts._replace(query=urlencode(query)))
