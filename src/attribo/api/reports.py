"""`GET /v1/reports/aggregate` and `GET /v1/metrics`: the metrics layer over HTTP.

Requests are parsed into a validated `AggregateRequest` (metric and dimension names come from
the catalogue, every value is a bound parameter); answers are JSON, or CSV with `format=csv`.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from attribo.api.auth import readable_app, require_key
from attribo.collector.http import bad_field, json_response
from attribo.control import ControlPlane
from attribo.metrics import RequestError, describe_catalogue, parse_aggregate_params, run_aggregate
from attribo.store.base import Store


def _csv(result: dict[str, Any]) -> Response:
    rows = result["rows"]
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return Response(out.getvalue(), media_type="text/csv")


def report_routes(control: ControlPlane, store: Store) -> list[Route]:
    """The aggregate report and the metric catalogue."""

    async def aggregate(request: Request) -> Response:
        readable_app(control, request)  # key role and app scope first
        params = request.query_params
        fmt = params.get("format", "json")
        if fmt not in ("json", "csv"):
            raise bad_field("format", "expected json or csv")
        try:
            grouped: dict[str, list[str]] = {}
            for name, value in params.multi_items():
                if name != "format":
                    grouped.setdefault(name, []).append(value)
            parsed = parse_aggregate_params(grouped)
            result = await run_in_threadpool(run_aggregate, store, parsed)
        except RequestError as exc:
            raise bad_field(exc.field, str(exc)) from None
        return _csv(result) if fmt == "csv" else json_response(result)

    async def metrics(request: Request) -> Response:
        require_key(control, request, "admin", "analyst")
        return json_response(describe_catalogue())

    return [
        Route("/v1/reports/aggregate", aggregate, methods=["GET"]),
        Route("/v1/metrics", metrics, methods=["GET"]),
    ]
