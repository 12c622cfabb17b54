"""Semantic metrics layer: the catalogue of metrics and dimensions, and report queries.

Public API: `METRICS`, `DIMENSIONS` (the catalogue), `describe_catalogue()` (for
`GET /v1/metrics`), `AggregateRequest`, `RequestError` (a `ValueError` with `.field`),
`parse_aggregate_params(query_params)`, `run_aggregate(store, request)`, `build_sql(...)`;
time series, cohort, retention (`series`) and funnel (`funnel`) reports with their parsers.
"""

from __future__ import annotations

from attribo.metrics.catalog import DIMENSIONS, METRICS, Dimension, Metric, describe_catalogue
from attribo.metrics.funnel import FunnelRequest, run_funnel
from attribo.metrics.params import (
    parse_aggregate_params,
    parse_cohort_params,
    parse_funnel_params,
    parse_retention_params,
    parse_timeseries_params,
)
from attribo.metrics.query import AggregateRequest, RequestError, build_sql, run_aggregate
from attribo.metrics.series import CohortRequest, run_cohort, run_retention, run_timeseries

__all__ = [
    "DIMENSIONS",
    "METRICS",
    "AggregateRequest",
    "CohortRequest",
    "Dimension",
    "FunnelRequest",
    "Metric",
    "RequestError",
    "build_sql",
    "describe_catalogue",
    "parse_aggregate_params",
    "parse_cohort_params",
    "parse_funnel_params",
    "parse_retention_params",
    "parse_timeseries_params",
    "run_aggregate",
    "run_cohort",
    "run_funnel",
    "run_retention",
    "run_timeseries",
]
