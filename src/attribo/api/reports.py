"""Reports (aggregate, time series, cohort, retention, funnel) and `GET /v1/metrics`.

Requests are parsed into a validated `AggregateRequest` (metric and dimension names come from
the catalogue, every value is a bound parameter); answers are JSON, or CSV with `format=csv`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from attribo.api.auth import readable_app, require_key
from attribo.collector.http import bad_field, json_response
from attribo.control import ControlPlane
from attribo.metrics import (
    RequestError,
    describe_catalogue,
    parse_aggregate_params,
    parse_cohort_params,
    parse_funnel_params,
    parse_retention_params,
    parse_timeseries_params,
    run_aggregate,
    run_cohort,
    run_funnel,
    run_retention,
    run_timeseries,
)
from attribo.store.base import Store


def _csv(result: dict[str, Any]) -> Response:
    rows = result["rows"]
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return Response(out.getvalue(), media_type="text/csv")


def _aggregate(store: Store, params: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    return run_aggregate(store, parse_aggregate_params(params))


def _timeseries(store: Store, params: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    request, granularity, basis = parse_timeseries_params(params)
    return run_timeseries(store, request, granularity, basis)


def _cohort(store: Store, params: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    return run_cohort(store, parse_cohort_params(params))


def _retention(store: Store, params: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    request, days = parse_retention_params(params)
    return run_retention(store, request) if days is None else run_retention(store, request, days)


def _funnel(store: Store, params: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    return run_funnel(store, parse_funnel_params(params))


REPORTS: dict[str, Callable[[Store, Mapping[str, Sequence[str]]], dict[str, Any]]] = {
    "aggregate": _aggregate,
    "timeseries": _timeseries,
    "cohort": _cohort,
    "retention": _retention,
    "funnel": _funnel,
}


def report_routes(control: ControlPlane, store: Store) -> list[Route]:
    """Every report kind and the metric catalogue."""

    def endpoint(kind: str) -> Callable[[Request], Any]:
        run = REPORTS[kind]

        async def report(request: Request) -> Response:
            readable_app(control, request)  # key role and app scope first
            params = request.query_params
            fmt = params.get("format", "json")
            if fmt not in ("json", "csv"):
                raise bad_field("format", "expected json or csv")
            grouped: dict[str, list[str]] = {}
            for name, value in params.multi_items():
                if name != "format":
                    grouped.setdefault(name, []).append(value)
            try:
                result = await run_in_threadpool(run, store, grouped)
            except RequestError as exc:
                raise bad_field(exc.field, str(exc)) from None
            return _csv(result) if fmt == "csv" else json_response(result)

        return report

    async def metrics(request: Request) -> Response:
        require_key(control, request, "admin", "analyst")
        return json_response(describe_catalogue())

    return [
        *(Route(f"/v1/reports/{kind}", endpoint(kind), methods=["GET"]) for kind in REPORTS),
        Route("/v1/metrics", metrics, methods=["GET"]),
    ]
