"""`attribo collector`: a stateless cluster collector, as many processes as the load needs.

It validates, enriches and de-duplicates events (Redis), publishes them to JetStream and
answers once the stream has acknowledged them; installs and opens posted alone are answered
with the decision of the worker that attributes the stream (see `collector.answers`). It
opens no store and keeps no touch index, so any number of collectors can share one port
(SO_REUSEPORT) or sit behind a load balancer. Paths it does not serve (management, reports,
SKAN postbacks, cost uploads, the dashboard) are passed to `attribo api` when it is told
where that is, so one address serves the whole product on a single box.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from attribo.api.app import rate_limits
from attribo.api.ratelimit import RateLimit
from attribo.api.serve import configure_logging, run_asgi
from attribo.attribution.live import device_partition_key
from attribo.backends import (
    open_answer_cache,
    open_control,
    open_dedup,
    open_log,
    open_rate_buckets,
)
from attribo.collector.answers import RemoteAnswers
from attribo.collector.enrich import warm_up
from attribo.collector.http import ERROR_HANDLERS, HTTPError, json_response
from attribo.collector.ingest import Collector
from attribo.collector.ingest_front import IngestFront
from attribo.collector.routes import CollectorContext, collector_routes
from attribo.config import Settings
from attribo.control import ControlPlane
from attribo.events.validate import FieldError
from attribo.log.base import Log

_log = logging.getLogger(__name__)
_HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"transfer-encoding",
    b"te",
    b"trailer",
    b"upgrade",
    b"proxy-authorization",
    b"proxy-authenticate",
    b"host",
    b"content-length",
}


@dataclass
class CollectorProcess:
    """What one collector process holds: connections, no data."""

    settings: Settings
    control: ControlPlane
    log: Log
    collector: Collector
    answers: RemoteAnswers

    @classmethod
    def open(cls, settings: Settings) -> CollectorProcess:
        """Connect to the cluster's services (the profile must be `cluster`)."""
        if settings.profile != "cluster":
            raise ValueError("attribo collector runs in the cluster profile (--profile cluster)")
        control = open_control(settings)
        log = open_log(settings)
        warm_up()
        collector = Collector(log, open_dedup(settings), attributes=False)
        if settings.partition_by == "device":
            collector.partition_key = device_partition_key
        answers = RemoteAnswers(log, open_answer_cache(settings), settings.namespace)  # type: ignore[arg-type]
        return cls(settings, control, log, collector, answers)

    def close(self) -> None:
        """Wait for in-flight publishes and disconnect."""
        self.log.close()
        self.control.close()


def build_collector_app(process: CollectorProcess, api_url: str | None) -> ASGIApp:
    """Event posts, tracking links and /health; everything else forwarded to `api_url`."""
    ctx = CollectorContext(process.settings, process.control, process.collector, process.answers)
    client = httpx.AsyncClient(base_url=api_url, timeout=60.0) if api_url else None

    async def health(request: Request) -> Response:
        counters = process.collector.counters
        failed = getattr(process.log, "_failed", None)
        body: dict[str, object] = {
            "status": "ok" if failed is None else "degraded",
            "role": "collector",
            "pid": os.getpid(),  # several collectors share a port: which one answered
            "accepted": counters.accepted,
            "duplicates": counters.duplicates,
            "rejected": counters.rejected,
            "rejected_by_field": counters.rejected_by_field,
            "answer_timeouts": process.answers.timeouts,
        }
        if client is not None:  # one address for the whole product: show the pipeline too
            body |= await _pipeline_health(client)
        return json_response(body, 200 if failed is None else 503)

    async def forward(request: Request) -> Response:
        if client is None:
            detail = [FieldError("path", "a collector serves events and tracking links only")]
            raise HTTPError(404, "not_found", detail)
        headers = [(k, v) for k, v in request.headers.raw if k.lower() not in _HOP_BY_HOP]
        upstream = client.build_request(
            request.method,
            request.url.path,
            params=request.url.query.encode("latin-1"),
            headers=headers,
            content=await request.body(),
        )
        try:
            answer = await client.send(upstream, stream=True)
        except httpx.HTTPError as exc:
            _log.warning("api unreachable: %s", exc)
            detail = [FieldError("server", "the API process is not reachable")]
            raise HTTPError(502, "bad_gateway", detail) from None
        kept = [(k, v) for k, v in answer.headers.raw if k.lower() not in _HOP_BY_HOP]
        response = StreamingResponse(
            answer.aiter_raw(), answer.status_code, background=BackgroundTask(answer.aclose)
        )
        response.raw_headers = [h for h in response.raw_headers if h[0] != b"content-type"]
        response.raw_headers.extend(kept)
        return response

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await process.answers.start()
        try:
            yield
        finally:
            if client is not None:
                await client.aclose()

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            *collector_routes(ctx),
            Route("/{path:path}", forward, methods=methods),
        ],
        lifespan=lifespan,
        exception_handlers=ERROR_HANDLERS,
    )
    limits = rate_limits(process.settings)
    served = RateLimit(
        IngestFront(ctx, app), process.control, limits, open_rate_buckets(process.settings)
    )

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        # A forwarded request is limited by the API process: drawing here too would spend
        # its key's shared budget twice.
        if scope["type"] == "http" and not _served_here(scope["path"]):
            await app(scope, receive, send)
        else:
            await served(scope, receive, send)

    return dispatch


def _served_here(path: str) -> bool:
    """Whether a collector answers `path` itself (events, tracking links, /health)."""
    return path in ("/health", "/v1/events", "/v1/events/batch") or path.startswith(("/c/", "/i/"))


_PIPELINE_FIELDS = ("pipeline_lag_bytes", "pipeline_errors", "pipeline_stored", "dedup_ids")


async def _pipeline_health(client: httpx.AsyncClient) -> dict[str, object]:
    """The API process's pipeline figures, or None for each if it cannot be reached."""
    try:
        answer = (await client.get("/health", timeout=2.0)).json()
    except (httpx.HTTPError, ValueError):
        answer = {}
    return {name: answer.get(name) for name in _PIPELINE_FIELDS}


def serve_collector(settings: Settings, api_url: str | None) -> None:
    """Run one collector process on the settings' port (shared with its siblings)."""
    configure_logging()
    process = CollectorProcess.open(settings)
    run_asgi(build_collector_app(process, api_url), settings, process.close, reuse_port=True)
