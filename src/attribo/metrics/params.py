"""Aggregate requests from URL query parameters, with errors naming the parameter.

`?app_id=&metrics=installs,cost&dimensions=network,campaign&from=YYYY-MM-DD&to=YYYY-MM-DD
&filter=country:US,DE&filter=network:meta&sort=-installs&limit=100&as_of=RFC3339`, and the
time series, cohort, retention and funnel reports' own parameters on top.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from attribo.metrics.funnel import FunnelRequest
from attribo.metrics.query import AggregateRequest, RequestError
from attribo.metrics.series import CohortRequest

DEFAULT_LIMIT = 1_000
# Request field -> query parameter, so that errors name what the caller wrote.
_PARAMETER = {"date_from": "from", "date_to": "to", "filters": "filter"}


def _one(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name) or []
    if len(values) > 1:
        raise RequestError(name, "given more than once")
    return values[0] if values else None


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _date(params: Mapping[str, Sequence[str]], name: str) -> date:
    value = _one(params, name)
    if value is None:
        raise RequestError(name, "required (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RequestError(name, f"not a date (YYYY-MM-DD): {value!r}") from None


def _as_of(params: Mapping[str, Sequence[str]]) -> datetime | None:
    value = _one(params, "as_of")
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RequestError("as_of", f"not an RFC 3339 time: {value!r}") from None
    if moment.utcoffset() is None:
        raise RequestError("as_of", "needs a time zone (Z or +hh:mm)")
    return moment


def _ints(params: Mapping[str, Sequence[str]], name: str) -> tuple[int, ...] | None:
    value = _one(params, name)
    if value is None:
        return None
    try:
        return tuple(int(part) for part in _list(value))
    except ValueError:
        raise RequestError(name, f"expected integers separated by commas: {value!r}") from None


def parse_aggregate_params(
    params: Mapping[str, Sequence[str]], metrics: tuple[str, ...] | None = None
) -> AggregateRequest:
    """Build a validated request from query parameters (each name -> its list of values).

    `metrics` given: the report chooses its own metrics and the parameter is not read.
    """
    filters: dict[str, tuple[str, ...]] = {}
    for item in params.get("filter") or []:
        name, sep, values = item.partition(":")
        if not sep or not name.strip() or not _list(values):
            raise RequestError("filter", f"expected dimension:value[,value...], got {item!r}")
        filters[name.strip()] = (*filters.get(name.strip(), ()), *_list(values))
    limit_text = _one(params, "limit")
    try:
        limit = DEFAULT_LIMIT if limit_text is None else int(limit_text)
    except ValueError:
        raise RequestError("limit", f"not an integer: {limit_text!r}") from None
    try:
        return AggregateRequest(
            app_id=_one(params, "app_id") or "",
            metrics=metrics if metrics is not None else _list(_one(params, "metrics")),
            dimensions=_list(_one(params, "dimensions")),
            date_from=_date(params, "from"),
            date_to=_date(params, "to"),
            filters=filters,
            sort=_one(params, "sort") or None,
            limit=limit,
            as_of=_as_of(params),
        )
    except RequestError as error:
        if error.field not in _PARAMETER:
            raise
        raise RequestError(_PARAMETER[error.field], str(error).partition(": ")[2]) from None


def parse_timeseries_params(
    params: Mapping[str, Sequence[str]],
) -> tuple[AggregateRequest, str, str]:
    """(request, granularity, date basis) of `/v1/reports/timeseries`."""
    granularity = _one(params, "granularity") or "day"
    basis = _one(params, "by") or "install"
    base = parse_aggregate_params({**params, "limit": params.get("limit") or ["10000"]})
    return base, granularity, basis


def parse_cohort_params(params: Mapping[str, Sequence[str]]) -> CohortRequest:
    """The request of `/v1/reports/cohort`."""
    metric = _one(params, "metric")
    if metric is None:
        raise RequestError("metric", "required")
    base = parse_aggregate_params(
        {**params, "limit": params.get("limit") or ["10000"]}, ("installs",)
    )
    days = _ints(params, "days")
    granularity = _one(params, "granularity") or "day"
    if days is None:
        return CohortRequest(base, metric, granularity=granularity)
    return CohortRequest(base, metric, days, granularity)


def parse_retention_params(
    params: Mapping[str, Sequence[str]],
) -> tuple[AggregateRequest, tuple[int, ...] | None]:
    """(request, days) of `/v1/reports/retention`."""
    return parse_aggregate_params(params, ("installs",)), _ints(params, "days")


def parse_funnel_params(params: Mapping[str, Sequence[str]]) -> FunnelRequest:
    """The request of `/v1/reports/funnel`."""
    steps = _list(_one(params, "steps"))
    window = _ints(params, "window_hours")
    if window is not None and len(window) != 1:
        raise RequestError("window_hours", "one integer")
    base = parse_aggregate_params(params, ("installs",))
    if window is None:
        return FunnelRequest(base, steps)
    return FunnelRequest(base, steps, window[0])
