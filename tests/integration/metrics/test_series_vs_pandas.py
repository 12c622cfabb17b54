"""Time series, cohort, retention and funnel reports against independent pandas computations.

Cohort cells and retention are checked against `metrics_reference.compute` (pandas) with
the cohort maturity rule computed here on its own; funnels against a per-install walk over
the events in plain Python.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from metrics_data import APP, DAYS, START, ReportData
from metrics_reference import INSTALL_COLUMNS, compute

from attribo.metrics import (
    AggregateRequest,
    CohortRequest,
    FunnelRequest,
    RequestError,
    run_aggregate,
    run_cohort,
    run_funnel,
    run_retention,
    run_timeseries,
)
from attribo.store.duckdb import DuckDBStore

DATE_TO = date.fromordinal(START.toordinal() + DAYS - 1)
AS_OF = datetime(2026, 10, 24, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def costed(report_data: ReportData):
    store = DuckDBStore(report_data.costed, threads=2)
    yield store
    store.close()


def _base(dims=(), filters=None, **extra) -> AggregateRequest:
    return AggregateRequest(
        app_id=APP,
        metrics=("installs",),
        dimensions=tuple(dims),
        date_from=START,
        date_to=DATE_TO,
        filters={k: tuple(v) for k, v in (filters or {}).items()},
        limit=10_000,
        as_of=AS_OF,
        **extra,
    )


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize(("granularity", "basis"), [("day", "install"), ("week", "event")])
def test_timeseries_is_the_aggregate_by_date_in_time_order(
    report_data: ReportData, costed: DuckDBStore, granularity: str, basis: str
) -> None:
    metrics = ("installs", "cost", "revenue", "roas")
    base = _base(("network",), {"country": ["US", "DE", "IN"]})
    base = AggregateRequest(**{**base.__dict__, "metrics": metrics})
    series = run_timeseries(costed, base, granularity, basis)
    dim = f"{basis}_date" + ("" if granularity == "day" else f":{granularity}")
    rows, totals = compute(
        report_data.events,
        report_data.costs,
        APP,
        list(metrics),
        [dim, "network"],
        START,
        DATE_TO,
        {"country": ["US", "DE", "IN"]},
        AS_OF,
    )
    expected = {(k[0].isoformat(), k[1]): v for k, v in rows.items()}
    got = {(r["date"], r["network"]): r for r in series["rows"]}
    assert set(got) == set(expected) and len(got) == len(series["rows"])
    for key, values in expected.items():
        assert all(_close(got[key][m], values[m]) for m in metrics), key
    assert all(_close(series["totals"][m], totals[m]) for m in metrics)
    dates = [r["date"] for r in series["rows"]]
    assert dates == sorted(dates) and len(set(dates)) > 2


def _period_end(start: date, granularity: str) -> date:
    if granularity == "day":
        end = start + timedelta(days=1)
    elif granularity == "week":
        end = start + timedelta(days=7)
    else:
        end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return min(end, DATE_TO + timedelta(days=1))


@pytest.mark.parametrize("metric", ["retention", "revenue", "roas", "arpu", "sessions"])
@pytest.mark.parametrize("granularity", ["day", "week"])
def test_cohort_cells_equal_pandas_and_young_cells_are_null(
    report_data: ReportData, costed: DuckDBStore, metric: str, granularity: str
) -> None:
    days = (0, 1, 7, 30)
    cohort = run_cohort(costed, CohortRequest(_base(), metric, days, granularity))
    dim = "install_date" + ("" if granularity == "day" else f":{granularity}")
    names = [f"{metric}_d{d}" for d in days]
    rows, _ = compute(
        report_data.events,
        report_data.costs,
        APP,
        ["installs", *names],
        [dim],
        START,
        DATE_TO,
        as_of=AS_OF,
    )
    cells = {(c["cohort"], c["day"]): c for c in cohort["rows"]}
    assert len(cells) == len(rows) * len(days)
    nulls = 0
    for (start,), values in rows.items():
        closed = datetime.combine(_period_end(start, granularity), datetime.min.time(), UTC)
        for day, name in zip(days, names, strict=True):
            cell = cells[(start.isoformat(), day)]
            assert cell["installs"] == values["installs"]
            if closed + timedelta(days=day + 1) <= AS_OF:
                assert _close(cell["value"], values[name]), (start, day)
            else:
                assert cell["value"] is None
                nulls += 1
    assert 0 < nulls < len(cells), "both observable and young cells are covered"


def test_cohort_request_errors_name_the_field() -> None:
    for fields, name in [
        ({"metric": "ltv"}, "metric"),
        ({"metric": "revenue", "days": (0, 31)}, "days"),
        ({"metric": "revenue", "days": ()}, "days"),
        ({"metric": "revenue", "granularity": "year"}, "granularity"),
    ]:
        with pytest.raises(RequestError) as caught:
            CohortRequest(_base(), **fields)
        assert caught.value.field == name


def test_retention_by_network_equals_pandas(report_data: ReportData, costed: DuckDBStore):
    days = (0, 1, 3, 7, 14)
    result = run_retention(costed, _base(("network",), {"platform": ["ios"]}), days)
    names = ["installs", *(f"retention_d{d}" for d in days)]
    rows, totals = compute(
        report_data.events,
        report_data.costs,
        APP,
        names,
        ["network"],
        START,
        DATE_TO,
        {"platform": ["ios"]},
        AS_OF,
    )
    got = {r["network"]: r for r in result["rows"]}
    assert set(got) == {k[0] for k in rows}
    for (network,), values in rows.items():
        assert all(_close(got[network][n], values[n]) for n in names), network
    assert all(_close(result["totals"][n], totals[n]) for n in names)
    assert result["totals"]["retention_d1"] > result["totals"]["retention_d14"] > 0


def _funnel_reference(
    events: pd.DataFrame, steps: list[str], window: timedelta, dims: list[str], filters
) -> dict[tuple, list[int]]:
    """Per install, walk its events in time order and take each step at its first chance."""
    events = events[events["app_id"] == APP]
    installs = events[(events["type"] == "install") & (events["attribution"] != "blocked")]
    day = installs["event_time"].dt.tz_convert("UTC").dt.date
    installs = installs[(day >= START) & (day <= DATE_TO)].copy()
    installs["credited_network"] = installs["attributed_network"].where(
        installs["attribution"] != "organic", "organic"
    )
    for dim, values in (filters or {}).items():
        installs = installs[installs[INSTALL_COLUMNS[dim]].isin(values)]
    acts = events[events["type"].isin(["open", "event"])].sort_values("event_time")
    by_install = {k: g for k, g in acts.groupby("install_event_id")}
    out: dict[tuple, list[int]] = {}
    for install in installs.itertuples():
        key = tuple(
            None
            if pd.isna(getattr(install, INSTALL_COLUMNS[d]))
            else getattr(install, INSTALL_COLUMNS[d])
            for d in dims
        )
        counts = out.setdefault(key, [0] * len(steps))
        mine = by_install.get(install.event_id)
        rows = (
            []
            if mine is None
            else list(zip(mine["event_time"], mine["type"], mine["name"], strict=True))
        )
        t = t0 = None
        for k, step in enumerate(steps):
            if k == 0 and step == "install":
                t = t0 = install.event_time
            else:
                found = None
                for when, kind, name in rows:
                    is_step = (
                        kind == "open"
                        if step == "open"
                        else (kind == "event" and name == step.removeprefix("event:"))
                    )
                    if not is_step:
                        continue
                    if k == 0 and when >= install.event_time:
                        found = when
                        break
                    if k > 0 and when > t and when <= t0 + window:
                        found = when
                        break
                if found is None:
                    break
                t = found
                if k == 0:
                    t0 = found
            counts[k] += 1
    return out


@pytest.mark.parametrize(
    ("steps", "hours", "dims", "filters"),
    [
        (["install", "open", "event:purchase"], 168, ["network"], None),
        (["install", "event:tutorial_complete", "event:level_up"], 24, [], None),
        (["open", "event:sign_up", "open"], 72, ["country"], {"platform": ["android"]}),
        (
            ["install", "event:level_up", "event:level_up", "event:level_up"],
            720,
            ["platform"],
            None,
        ),
    ],
)
def test_funnel_equals_a_walk_over_each_install(
    report_data: ReportData, costed: DuckDBStore, steps, hours, dims, filters
) -> None:
    result = run_funnel(costed, FunnelRequest(_base(dims, filters), tuple(steps), hours))
    expected = _funnel_reference(report_data.events, steps, timedelta(hours=hours), dims, filters)
    got = {
        tuple(r[d] for d in dims): [r[f"step_{k + 1}"] for k in range(len(steps))]
        for r in result["rows"]
    }
    assert got == expected
    totals = [sum(c[k] for c in expected.values()) for k in range(len(steps))]
    assert [result["totals"][f"step_{k + 1}"] for k in range(len(steps))] == totals
    assert totals[0] > totals[-1] > 0, "the funnel narrows but someone gets through"
    assert _close(result["totals"]["conversion"], totals[-1] / totals[0])


@pytest.mark.parametrize(
    ("steps", "hours"),
    [
        (("install",), 24),
        (("open", "install"), 24),
        (("install", "click"), 24),
        (("install", "open"), 0),
    ],
)
def test_funnel_errors_name_the_field(steps, hours) -> None:
    with pytest.raises(RequestError) as caught:
        FunnelRequest(_base(), steps, hours)
    assert caught.value.field == ("window_hours" if hours == 0 else "steps")


def test_reports_agree_with_the_aggregate_totals(costed: DuckDBStore) -> None:
    aggregate = run_aggregate(
        costed, AggregateRequest(**{**_base().__dict__, "metrics": ("installs", "revenue")})
    )["totals"]
    funnel = run_funnel(costed, FunnelRequest(_base(), ("install", "open")))
    assert funnel["totals"]["step_1"] == aggregate["installs"]
    series = run_timeseries(
        costed, AggregateRequest(**{**_base().__dict__, "metrics": ("installs", "revenue")})
    )
    assert sum(r["installs"] for r in series["rows"]) == aggregate["installs"]
    assert _close(sum(r["revenue"] for r in series["rows"]), aggregate["revenue"])
