"""Request validation and query building (no store: the SQL text and its parameters)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from attribo.metrics import DIMENSIONS, METRICS, AggregateRequest, RequestError, build_sql
from attribo.metrics.catalog import ATOMS

D1, D2 = date(2026, 10, 1), date(2026, 10, 31)


def _request(**fields) -> AggregateRequest:
    base = {"app_id": "a", "metrics": ("installs",), "date_from": D1, "date_to": D2}
    return AggregateRequest(**{**base, **fields})


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"app_id": ""}, "app_id"),
        ({"metrics": ()}, "metrics"),
        ({"metrics": ("installs; DROP TABLE events",)}, "metrics"),
        ({"metrics": ("event:",)}, "metrics"),
        ({"metrics": ("installs", "installs")}, "metrics"),
        ({"dimensions": ("network", "nope")}, "dimensions"),
        ({"dimensions": ("install_date:year",)}, "dimensions"),
        ({"date_to": date(2026, 9, 1)}, "date_to"),
        ({"date_from": "2026-10-01"}, "date_from"),
        ({"filters": {"nope": ("x",)}}, "filters"),
        ({"filters": {"install_date": ("2026-10-01",)}}, "filters"),
        ({"filters": {"country": ()}}, "filters"),
        ({"filters": {"country": (1,)}}, "filters"),
        ({"sort": "-cost"}, "sort"),
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
        ({"limit": True}, "limit"),
        ({"metrics": ("retention_d31",)}, "metrics"),
        ({"metrics": ("revenue_d07",)}, "metrics"),
        ({"metrics": ("cohort_d1",)}, "metrics"),
        ({"as_of": datetime(2026, 10, 1)}, "as_of"),
    ],
)
def test_invalid_requests_name_the_field(fields: dict, field: str) -> None:
    with pytest.raises(RequestError) as caught:
        _request(**fields)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError) and str(caught.value).startswith(field)


def test_every_metric_and_dimension_is_documented_and_formatted() -> None:
    for metric in METRICS.values():
        assert metric.description and metric.format in {"integer", "currency", "percent", "ratio"}
        assert all(atom in ATOMS for atom in metric.atoms)
    assert all(dim.description for dim in DIMENSIONS.values())
    assert {"app", "platform", "network", "campaign", "adset", "ad", "site", "country"} <= set(
        DIMENSIONS
    )
    for prefix in ("install_date", "event_date"):
        assert {prefix, f"{prefix}:week", f"{prefix}:month"} <= set(DIMENSIONS)


def test_user_values_only_ever_travel_as_parameters() -> None:
    evil = "x'); DROP TABLE events; --"
    request = _request(
        app_id=evil,
        metrics=(*METRICS, f"event:{evil}"),
        dimensions=tuple(DIMENSIONS)[:8],
        filters={"country": (evil, "US"), "network": (evil,)},
        sort="-installs",
        limit=7,
    )
    built = build_sql(request, costs_table=True)
    assert built is not None
    sql, params = built
    assert evil not in sql and "DROP" not in sql
    assert sql.count("?") == len(params)
    assert params.count(evil) >= 4 and params[-1] == 7


def test_platform_breakdown_leaves_the_cost_base_out() -> None:
    joinable = _request(metrics=("cost", "installs"), dimensions=("network", "country"))
    sql, _ = build_sql(joinable, costs_table=True) or ("", [])
    assert "FROM costs" in sql
    not_joinable = _request(metrics=("cost", "installs"), dimensions=("platform",))
    sql, _ = build_sql(not_joinable, costs_table=True) or ("", [])
    assert "FROM costs" not in sql and "CAST(NULL AS DOUBLE) AS s_cost" in sql
    only_cost = _request(metrics=("cost",), filters={"site": ("s1",)})
    assert build_sql(only_cost, costs_table=True) is None


def test_values_differing_only_in_the_engines_summation_order_read_the_same() -> None:
    from attribo.metrics.query import _value

    revenue, roas, installs = METRICS["revenue"], METRICS["roas"], METRICS["installs"]
    parts = [2.69, 16.95, 15.28, 5.1, 9.91]
    forward, backward = sum(parts), sum(reversed(parts))
    assert forward != backward  # the float sums really differ
    assert _value(revenue, forward) == _value(revenue, backward) == 49.93
    assert _value(roas, 1 / 3) != _value(roas, 1 / 3 + 1e-9)  # a real difference survives
    assert _value(revenue, None) is None and _value(installs, 7.0) == 7
