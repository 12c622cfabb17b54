"""The ASGI application: collector, management API, export, docs and health, on one runtime."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from attribo.api.app_settings import app_settings_routes
from attribo.api.attributions import attributions_routes
from attribo.api.audit_routes import audit_routes
from attribo.api.costs_routes import costs_routes
from attribo.api.export import export_routes
from attribo.api.fraud_routes import fraud_api
from attribo.api.gc_pauses import GcPauses, freeze_long_lived
from attribo.api.live_feed import LiveFeed, fan_out, live_routes
from attribo.api.live_relay import relay_into
from attribo.api.management import management_routes
from attribo.api.multitouch_report import multitouch_routes
from attribo.api.openapi import DOCS_PAGE, openapi_document
from attribo.api.postback_feed import PostbackFeed
from attribo.api.postback_routes import postback_routes
from attribo.api.ratelimit import RateLimit, RateLimitSettings
from attribo.api.reports import report_routes
from attribo.api.runtime import Runtime, WorkerElsewhere
from attribo.api.skan_report import skan_report_routes
from attribo.api.web import web_routes
from attribo.backends import (
    open_cost_sink,
    open_live_interest,
    open_rate_buckets,
    open_skan_sink,
)
from attribo.collector.http import ERROR_HANDLERS, HTTPError, json_response
from attribo.collector.ingest_front import IngestFront
from attribo.collector.routes import CollectorContext, collector_routes
from attribo.collector.skan_routes import skan_routes
from attribo.config import Settings
from attribo.events.record import StoredEvent
from attribo.events.validate import FieldError
from attribo.log.base import LogFailed
from attribo.pipeline.attributing_worker import AttributingWorker
from attribo.pipeline.rollup_refresher import RollupRefresher
from attribo.pipeline.store_writer import StoreWriter
from attribo.postbacks.dispatcher import PostbackDispatcher

_log = logging.getLogger(__name__)
COST_BODY_BYTES = 16 << 20  # 50,000 cost rows are about 9.4 MiB of JSON


def build_app(runtime: Runtime) -> ASGIApp:
    """The whole HTTP surface of one server process (event posts served by `IngestFront`)."""
    openapi = openapi_document()
    ctx = CollectorContext(runtime.settings, runtime.control, runtime.collector, runtime.answers)
    skan_sink = open_skan_sink(runtime.store, runtime.settings)
    dispatcher = PostbackDispatcher(runtime.control)
    feed = PostbackFeed(runtime.control, dispatcher)
    live = LiveFeed()
    offer = fan_out(feed.offer, live.offer)
    if isinstance(runtime.store_writer, StoreWriter):  # the collector attributes in-process
        runtime.collector.on_durable = offer
    fraud_route_list, fraud_rescans = fraud_api(runtime)
    pauses = GcPauses()

    async def health(request: Request) -> Response:
        failed = getattr(runtime.log, "_failed", None)
        counters = runtime.collector.counters
        body = {
            "status": "ok" if failed is None else "degraded",
            "pipeline_lag_bytes": runtime.store_writer.lag_bytes(),
            "pipeline_errors": runtime.store_writer.errors,
            "dedup_ids": len(runtime.collector.dedup),
            "accepted": counters.accepted,
            "duplicates": counters.duplicates,
            "rejected": counters.rejected,
            "rejected_by_field": counters.rejected_by_field,
            **pauses.as_dict(),
        }
        if isinstance(runtime.store_writer, AttributingWorker):  # events from every collector
            body["pipeline_stored"] = runtime.store_writer.stored
            body["answered"] = runtime.store_writer.answered
        return json_response(body, 200 if failed is None else 503)

    async def openapi_json(request: Request) -> Response:
        return json_response(openapi)

    async def docs(request: Request) -> Response:
        return HTMLResponse(DOCS_PAGE)

    async def log_failed(request: Request, exc: Exception) -> Response:
        _log.error("event log failed: %s", exc)
        detail = [FieldError("server", "the event log cannot write; nothing was stored")]
        return HTTPError(503, "unavailable", detail, {"Retry-After": "5"}).response()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if runtime.answers is not None:
            await runtime.answers.start()
        if isinstance(runtime.store_writer, AttributingWorker):  # decisions come from its thread
            loop = asyncio.get_running_loop()

            def on_attributed(records: list[StoredEvent]) -> None:
                loop.call_soon_threadsafe(offer, records)

            runtime.store_writer.on_attributed = on_attributed
        runtime.store_writer.start()
        await feed.start()
        pauses.install()
        freezer = asyncio.create_task(freeze_long_lived(), name="attribo-gc-freeze")
        relay = None
        if isinstance(runtime.store_writer, WorkerElsewhere):  # workers attribute elsewhere
            relay = asyncio.create_task(
                relay_into(
                    live,
                    runtime.log.subscribe_answers,  # type: ignore[attr-defined]
                    open_live_interest(runtime.settings),
                    runtime.settings.namespace,
                ),
                name="attribo-live-relay",
            )
        refresh = getattr(runtime.store, "refresh_rollups", None)
        rollups = RollupRefresher(refresh) if callable(refresh) else None
        if rollups is not None:
            rollups.start()
        rescans = (
            asyncio.create_task(fraud_rescans(), name="attribo-fraud") if fraud_rescans else None
        )
        try:
            yield
        finally:
            if rescans is not None:
                rescans.cancel()
            if relay is not None:
                relay.cancel()
            if rollups is not None:
                await asyncio.to_thread(rollups.stop)
            freezer.cancel()
            pauses.remove()
            await feed.close()

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        *collector_routes(ctx),
        *management_routes(runtime.settings, runtime.control),
        *app_settings_routes(
            runtime.control, runtime.collector.attributor, runtime.settings.max_body_bytes
        ),
        *export_routes(runtime.control, runtime.store),
        *attributions_routes(runtime.control, runtime.store),
        *multitouch_routes(runtime.control, runtime.store),
        *skan_routes(ctx, skan_sink),
        *skan_report_routes(runtime.control, skan_sink),
        *postback_routes(runtime.control, dispatcher),
        *costs_routes(
            runtime.control, open_cost_sink(runtime.store, runtime.settings), COST_BODY_BYTES
        ),
        *audit_routes(runtime.control),
        *report_routes(runtime.control, runtime.store),
        *fraud_route_list,
        *live_routes(runtime.control, live),
        *web_routes(),  # last: the dashboard answers every path no API route took
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={**ERROR_HANDLERS, LogFailed: log_failed},
    )
    limits = rate_limits(runtime.settings)
    shared = open_rate_buckets(runtime.settings)
    return RateLimit(IngestFront(ctx, app), runtime.control, limits, shared)


def rate_limits(settings: Settings) -> RateLimitSettings:
    """Budgets per role from the settings; bursts are twice the rate (ten for unknown keys)."""
    return RateLimitSettings(
        ingest_rate=settings.rate_limit_ingest_per_s,
        ingest_burst=max(1, int(2 * settings.rate_limit_ingest_per_s)),
        analyst_rate=settings.rate_limit_api_per_s,
        analyst_burst=max(1, int(2 * settings.rate_limit_api_per_s)),
        admin_rate=settings.rate_limit_api_per_s,
        admin_burst=max(1, int(2 * settings.rate_limit_api_per_s)),
        unknown_key_rate=settings.rate_limit_unknown_per_s,
        unknown_key_burst=max(10, int(2 * settings.rate_limit_unknown_per_s)),
    )
