"""Tracking-link endpoints `/c/{link_id}` and `/i/{link_id}`, and the collector's context."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from attribo.collector.answers import RemoteAnswers
from attribo.collector.enrich import parse_user_agent
from attribo.collector.http import HTTPError, bad_field
from attribo.collector.ingest import Collector, now_ms
from attribo.config import Settings
from attribo.control import ControlPlane
from attribo.events.types import Device, Event, Source
from attribo.events.validate import FieldError

_LINK_PARAMS = ("click_id", "idfa", "gaid", "campaign", "adset", "ad", "site_id")


@dataclass
class CollectorContext:
    """What the collector's endpoints need, handed in by whoever composes the server."""

    settings: Settings
    control: ControlPlane
    collector: Collector
    answers: RemoteAnswers | None = None  # cluster collectors: the worker answers installs


def collector_routes(ctx: CollectorContext) -> list[Route]:
    """The tracking-link routes, bound to `ctx` (event posts are served by `IngestFront`)."""

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
        await ctx.collector.ingest_records(
            link.app_id, [event], link_id=link.link_id, retargeting=link.retargeting
        )
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
        Route("/c/{link_id}", click, methods=["GET"]),
        Route("/i/{link_id}", impression, methods=["GET"]),
    ]


def _with_referrer(url: str, click_id: str) -> str:
    """Pass the click id through Google Play's install referrer, for a click_id match."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "referrer"]
    query.append(("referrer", urlencode({"attribo_click_id": click_id})))
    return urlunsplit(parts._replace(query=urlencode(query)))
