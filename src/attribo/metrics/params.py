"""Aggregate requests from URL query parameters, with errors naming the parameter.

`?app_id=&metrics=installs,cost&dimensions=network,campaign&from=YYYY-MM-DD&to=YYYY-MM-DD
&filter=country:US,DE&filter=network:meta&sort=-installs&limit=100`
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from attribo.metrics.query import AggregateRequest, RequestError

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


def parse_aggregate_params(params: Mapping[str, Sequence[str]]) -> AggregateRequest:
    """Build a validated request from query parameters (each name -> its list of values)."""
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
            metrics=_list(_one(params, "metrics")),
            dimensions=_list(_one(params, "dimensions")),
            date_from=_date(params, "from"),
            date_to=_date(params, "to"),
            filters=filters,
            sort=_one(params, "sort") or None,
            limit=limit,
        )
    except RequestError as error:
        if error.field not in _PARAMETER:
            raise
        raise RequestError(_PARAMETER[error.field], str(error).partition(": ")[2]) from None
