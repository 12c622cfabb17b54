"""Time series, cohort and retention reports: shapes of the aggregate report.

Each is an `AggregateRequest` with a date dimension in front and the right metrics, run by
`run_aggregate` (so it reads the same rollups and has the same definitions), then reshaped:

- time series: one row per date (and dimension values), dated by install date (cohort view:
  installs, their revenue and ROAS) or by event date (revenue on the day it came in).
- cohort: install-date cohorts x days since install for one metric, in long form. A cell
  is `null` until every install of the cohort's period is N + 1 days old at `as_of`.
- retention: installs and day-N retention per dimension values (young installs left out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from attribo.metrics.catalog import MAX_DAY, RETENTION_DAYS
from attribo.metrics.query import AggregateRequest, QueryStore, RequestError, run_aggregate

GRANULARITIES = ("day", "week", "month")
COHORT_METRICS = ("retention", "revenue", "roas", "arpu", "sessions", "paying_users")
DEFAULT_COHORT_DAYS = (0, 1, 3, 7, 14, 30)


def date_dimension(basis: str, granularity: str) -> str:
    """The catalogue dimension for a date basis (`install` | `event`) and granularity."""
    if basis not in ("install", "event"):
        raise RequestError("by", "expected install or event")
    if granularity not in GRANULARITIES:
        raise RequestError("granularity", f"expected one of {', '.join(GRANULARITIES)}")
    return f"{basis}_date" + ("" if granularity == "day" else f":{granularity}")


def check_days(days: Sequence[int], low: int = 0) -> tuple[int, ...]:
    """Distinct day numbers in `low..MAX_DAY`, ascending."""
    if not days:
        raise RequestError("days", "at least one day is required")
    if any(not low <= d <= MAX_DAY for d in days):
        raise RequestError("days", f"days are {low}..{MAX_DAY}")
    return tuple(sorted(set(days)))


def run_timeseries(
    store: QueryStore,
    base: AggregateRequest,
    granularity: str = "day",
    basis: str = "install",
    rollups: bool | None = None,
) -> dict[str, Any]:
    """`{"rows": [{"date": ..., dimension: ..., metric: ...}], "totals": {...}}` by date.

    `rollups` as for `run_aggregate`."""
    dim = date_dimension(basis, granularity)
    if dim in base.dimensions:
        raise RequestError("dimensions", "the date is the series' own dimension")
    sort = base.sort
    request = replace(base, dimensions=(dim, *base.dimensions), sort=sort or dim)
    result = run_aggregate(store, request, rollups)
    rows = [{"date": row.pop(dim), **row} for row in result["rows"]]
    if sort is None or sort.removeprefix("-") == dim:  # keep the series in time order
        rows.sort(key=lambda row: (row["date"] is None, row["date"] or ""))
    return {"rows": rows, "totals": result["totals"]}


@dataclass(frozen=True)
class CohortRequest:
    """Install-date cohorts x days since install for one metric."""

    base: AggregateRequest  # app, period, filters, extra dimensions, as_of
    metric: str
    days: tuple[int, ...] = DEFAULT_COHORT_DAYS
    granularity: str = "day"

    def __post_init__(self) -> None:
        if self.metric not in COHORT_METRICS:
            raise RequestError("metric", f"expected one of {', '.join(COHORT_METRICS)}")
        object.__setattr__(self, "days", check_days(self.days))
        date_dimension("install", self.granularity)


def _period_end(start: date, granularity: str, last: date) -> date:
    """First day after the cohort period (clipped to the request's last day + 1)."""
    if granularity == "day":
        end = start + timedelta(days=1)
    elif granularity == "week":
        end = start + timedelta(days=7)
    else:
        end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return min(end, last + timedelta(days=1))


def run_cohort(
    store: QueryStore, cohort: CohortRequest, rollups: bool | None = None
) -> dict[str, Any]:
    """`{"metric", "days", "rows": [{"cohort", dims..., "installs", "day", "value"}]}`.

    `rollups` as for `run_aggregate`."""
    base = cohort.base
    dim = date_dimension("install", cohort.granularity)
    if dim in base.dimensions:
        raise RequestError("dimensions", "the cohort date is the report's own dimension")
    # Cells are only shown for cohorts old enough as a whole, so retention is plain
    # retained / installs there (cheaper to plan than per-install maturity).
    family = "retained_users" if cohort.metric == "retention" else cohort.metric
    names = [f"{family}_d{d}" for d in cohort.days]
    extra = ("cost",) if cohort.metric == "roas" else ()
    request = replace(
        base,
        metrics=("installs", *extra, *names),
        dimensions=(dim, *base.dimensions),
        sort=dim,
        limit=base.limit,
    )
    as_of = request.judged_at()
    result = run_aggregate(store, request, rollups)
    rows: list[dict[str, Any]] = []
    for row in result["rows"]:
        start = row[dim]
        if start is None:
            continue
        end = _period_end(date.fromisoformat(start), cohort.granularity, base.date_to)
        closed = datetime.combine(end, time(), UTC)
        keys = {name: row[name] for name in base.dimensions}
        for day, name in zip(cohort.days, names, strict=True):
            mature = closed + timedelta(days=day + 1) <= as_of
            cell = {"cohort": start, **keys, "installs": row["installs"]}
            cell.update({name: row[name] for name in extra})
            value = row[name]
            if family == "retained_users":
                value = value / row["installs"] if row["installs"] else None
            cell.update({"day": day, "value": value if mature else None})
            rows.append(cell)
    return {"metric": cohort.metric, "days": list(cohort.days), "rows": rows}


def run_retention(
    store: QueryStore, base: AggregateRequest, days: Sequence[int] = RETENTION_DAYS
) -> dict[str, Any]:
    """Installs and `retention_d<N>` per dimension values, young installs left out."""
    names = [f"retention_d{d}" for d in check_days(days)]
    return run_aggregate(store, replace(base, metrics=("installs", *names)))
