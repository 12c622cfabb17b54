"""Aggregate requests from query parameters; the catalogue description."""

from __future__ import annotations

from datetime import date

import pytest

from attribo.metrics import (
    DIMENSIONS,
    METRICS,
    RequestError,
    describe_catalogue,
    parse_aggregate_params,
)
from attribo.metrics.catalog import DAY_FAMILIES

GOOD = {
    "app_id": ["a"],
    "metrics": ["installs,cost, cpi"],
    "dimensions": ["network,campaign"],
    "from": ["2026-10-01"],
    "to": ["2026-10-31"],
    "filter": ["country:US,DE", "network:meta", "country:FR"],
    "sort": ["-installs"],
    "limit": ["50"],
}


def test_a_full_query_string_becomes_a_request() -> None:
    request = parse_aggregate_params(GOOD)
    assert request.metrics == ("installs", "cost", "cpi")
    assert request.dimensions == ("network", "campaign")
    assert (request.date_from, request.date_to) == (date(2026, 10, 1), date(2026, 10, 31))
    assert request.filters == {"country": ("US", "DE", "FR"), "network": ("meta",)}
    assert (request.sort, request.limit) == ("-installs", 50)


def test_defaults() -> None:
    minimal = {k: GOOD[k] for k in ("app_id", "metrics", "from", "to")}
    request = parse_aggregate_params(minimal)
    assert request.dimensions == () and request.filters == {} and request.limit == 1_000


@pytest.mark.parametrize(
    ("change", "parameter"),
    [
        ({"from": ["01/10/2026"]}, "from"),
        ({"to": []}, "to"),
        ({"to": ["2026-09-01"]}, "to"),
        ({"filter": ["country"]}, "filter"),
        ({"filter": ["country:"]}, "filter"),
        ({"filter": ["platfrm:ios"]}, "filter"),
        ({"limit": ["ten"]}, "limit"),
        ({"limit": ["1", "2"]}, "limit"),
        ({"metrics": ["installs,bogus"]}, "metrics"),
        ({"dimensions": ["network,bogus"]}, "dimensions"),
        ({"app_id": []}, "app_id"),
        ({"sort": ["-revenue"]}, "sort"),
    ],
)
def test_errors_name_the_query_parameter(change: dict, parameter: str) -> None:
    with pytest.raises(RequestError) as caught:
        parse_aggregate_params({**GOOD, **change})
    assert caught.value.field == parameter


def test_the_catalogue_description_lists_everything() -> None:
    described = describe_catalogue()
    names = {m["name"] for m in described["metrics"]}
    families = {f"{family}_d<N>" for family in DAY_FAMILIES}
    assert set(METRICS) | {"event:<name>"} | families == names
    assert {d["name"] for d in described["dimensions"]} == set(DIMENSIONS)
    assert all(m["description"] and m["format"] for m in described["metrics"])
