"""Semantic metrics layer: the catalogue of metrics and dimensions, and report queries.

Public API: `METRICS`, `DIMENSIONS` (the catalogue), `AggregateRequest`, `RequestError`,
`run_aggregate(store, request)`, `build_sql(...)` (the query text and its parameters).
"""

from __future__ import annotations

from attribo.metrics.catalog import DIMENSIONS, METRICS, Dimension, Metric
from attribo.metrics.query import AggregateRequest, RequestError, build_sql, run_aggregate

__all__ = [
    "DIMENSIONS",
    "METRICS",
    "AggregateRequest",
    "Dimension",
    "Metric",
    "RequestError",
    "build_sql",
    "run_aggregate",
]
