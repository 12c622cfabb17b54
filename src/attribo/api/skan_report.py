"""`GET /v1/reports/skan`: SKAdNetwork results of an app, verified postbacks only.

Unverifiable postbacks are kept (for audit and a later re-check) but only counted apart,
in `unverified`; conversion values are not covered by Apple's signature, so revenue ranges
are only as trustworthy as the network that forwarded them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from attribo.api.auth import readable_app
from attribo.api.export import parse_time
from attribo.collector.http import json_response
from attribo.control import ControlPlane
from attribo.store.skan import PostbackStore


def skan_report_routes(control: ControlPlane, sink: PostbackStore) -> list[Route]:
    """The SKAN summary route."""

    async def report(request: Request) -> Response:
        app_id = readable_app(control, request)
        since = _moment(parse_time("since", request.query_params.get("since")))
        until = _moment(parse_time("until", request.query_params.get("until")))
        summary = await run_in_threadpool(sink.summary, app_id, since, until)
        return json_response(msgspec.to_builtins(summary))

    return [Route("/v1/reports/skan", report, methods=["GET"])]


def _moment(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)
