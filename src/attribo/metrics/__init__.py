"""Semantic metrics layer: the catalogue of metrics and dimensions, and report queries.

Public API: `METRICS`, `DIMENSIONS` (the catalogue), `describe_catalogue()` (for
`GET /v1/metrics`), `AggregateRequest`, `RequestError` (a `ValueError` with `.field`),
`parse_aggregate_params(query_params)`, `run_aggregate(store, request)`, `build_sql(...)`.
"""

from __future__ import annotations

from attribo.metrics.catalog import DIMENSIONS, METRICS, Dimension, Metric, describe_catalogue
from attribo.metrics.params import parse_aggregate_params
from attribo.metrics.query import AggregateRequest, RequestError, build_sql, run_aggregate

__all__ = [
    "DIMENSIONS",
    "METRICS",
    "AggregateRequest",
    "Dimension",
    "Metric",
    "RequestError",
    "build_sql",
    "describe_catalogue",
    "parse_aggregate_params",
    "run_aggregate",
]
