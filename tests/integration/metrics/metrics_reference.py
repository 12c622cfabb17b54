"""An independent pandas computation of aggregate reports (the definitions read literally).

Written from the metric descriptions, not from the SQL: each base is a pandas frame, grouped
with `groupby`, the groups combined on their keys, then each metric computed per row.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

DAY = pd.Timedelta(days=1)
NULL = "\x00null"  # groupby key standing for a missing value

# Which bases a metric reads (a row exists when any of them has a group for it).
BASES = {
    "clicks": {"touch"},
    "impressions": {"touch"},
    "ctr": {"touch"},
    "installs": {"install"},
    "organic_installs": {"install"},
    "blocked_installs": {"install"},
    "fraud_rate": {"install"},
    "conversion_rate": {"install", "touch"},
    "cost": {"cost"},
    "cpi": {"cost", "install"},
    "cpm": {"cost"},
    "revenue": {"activity"},
    "arpu": {"activity", "install"},
    "arppu": {"activity"},
    "paying_users": {"activity"},
    "roas": {"activity", "cost"},
    "sessions": {"activity"},
    "blocked_spend": {"install", "cost"},
}
FAMILY = re.compile(r"^(retention|retained_users|revenue|roas|arpu|sessions|paying_users)_d(\d+)$")
FAMILY_BASES = {
    "retention": {"install"},
    "retained_users": {"install"},
    "revenue": {"activity"},
    "roas": {"activity", "cost"},
    "arpu": {"activity", "install"},
    "sessions": {"activity"},
    "paying_users": {"activity"},
}


def _bases(metric: str) -> set[str]:
    match = FAMILY.match(metric)
    if match:
        return FAMILY_BASES[match.group(1)]
    return BASES.get(metric, {"activity"})


def _days(metrics: list[str]) -> set[int]:
    return {int(m.group(2)) for m in map(FAMILY.match, metrics) if m}


SOURCE_COLUMNS = {
    "app": "app_id",
    "platform": "platform",
    "network": "network",
    "campaign": "campaign",
    "adset": "adset",
    "ad": "ad",
    "site": "site_id",
    "country": "country",
}
INSTALL_COLUMNS = {
    "app": "app_id",
    "platform": "platform",
    "network": "credited_network",
    "campaign": "attributed_campaign",
    "adset": "attributed_adset",
    "ad": "attributed_ad",
    "site": "attributed_site_id",
    "country": "country",
}
COST_DIMENSIONS = {"app", "network", "campaign", "adset", "ad", "country"}


def _truncate(days: pd.Series, unit: str) -> pd.Series:
    if unit == "day":
        return days
    if unit == "week":
        return days.map(lambda d: d - timedelta(days=d.weekday()))
    return days.map(lambda d: d.replace(day=1))


def _dim_values(frame: pd.DataFrame, dim: str, columns: dict[str, str], day: str, event_day: str):
    name, _, unit = dim.partition(":")
    if name == "install_date":
        return _truncate(frame[day], unit or "day")
    if name == "event_date":
        return _truncate(frame[event_day], unit or "day")
    return frame[columns[name]]


def _keyed(frame: pd.DataFrame, dims, columns, day, event_day) -> pd.DataFrame:
    frame = frame.copy()
    for k, dim in enumerate(dims):
        values = _dim_values(frame, dim, columns, day, event_day)
        frame[f"k{k}"] = values.astype(object).where(values.notna(), NULL)
    return frame


def _apply_filters(frame: pd.DataFrame, filters: dict[str, list[str]], columns) -> pd.DataFrame:
    for dim, values in filters.items():
        frame = frame[frame[columns[dim]].isin(values)]
    return frame


def _group(frame: pd.DataFrame, dims, aggregates: dict[str, Any]) -> dict[tuple, dict]:
    keys = [f"k{k}" for k in range(len(dims))]
    out: dict[tuple, dict] = {}
    if frame.empty:
        return out if keys else {(): {name: 0 for name in aggregates}}
    groups = frame.groupby(keys, sort=False) if keys else [((), frame)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        out[tuple(None if v == NULL else v for v in key)] = {
            name: fn(part) for name, fn in aggregates.items()
        }
    return out


def compute(
    events: pd.DataFrame,
    costs: pd.DataFrame | None,
    app_id: str,
    metrics: list[str],
    dims: list[str],
    date_from: date,
    date_to: date,
    filters: dict[str, list[str]] | None = None,
    as_of: datetime | None = None,
) -> tuple[dict[tuple, dict[str, Any]], dict[str, Any]]:
    """(rows keyed by dimension values, totals) for the report.

    `as_of`: installs whose install date ended less than N + 1 days before it are left out of
    day-N retention (None: nothing is too young)."""
    filters = filters or {}
    with_cost = costs is not None and all(
        d.partition(":")[0] in COST_DIMENSIONS or d.partition(":")[0].endswith("_date")
        for d in [*dims, *filters]
    )
    args = (date_from, date_to, filters, as_of)
    rows = _compute(events, costs, with_cost, app_id, metrics, dims, *args)
    everything = _compute(events, costs, with_cost, app_id, metrics, [], *args)
    # No base at all (only cost metrics, cost not joinable): nothing is known.
    totals = everything.get((), _metrics({}, metrics, False))
    return rows, totals


def _compute(events, costs, joinable, app_id, metrics, dims, date_from, date_to, filters, as_of):
    events = events[events["app_id"] == app_id].copy()
    events["day"] = events["event_time"].dt.tz_convert("UTC").dt.date
    in_range = (events["day"] >= date_from) & (events["day"] <= date_to)
    bases = set().union(*(_bases(m) for m in metrics))
    days = _days(metrics) | {0, 1, 3, 7, 14, 30}
    combined: dict[tuple, dict] = {}

    def merge(groups: dict[tuple, dict]) -> None:
        for key, values in groups.items():
            combined.setdefault(key, {}).update(values)

    if "touch" in bases:
        touches = events[events["type"].isin(["click", "impression"]) & in_range]
        touches = _apply_filters(touches, filters, SOURCE_COLUMNS)
        merge(
            _group(
                _keyed(touches, dims, SOURCE_COLUMNS, "day", "day"),
                dims,
                {
                    "clicks": lambda p: int((p["type"] == "click").sum()),
                    "impressions": lambda p: int((p["type"] == "impression").sum()),
                },
            )
        )
    all_installs = events[events["type"] == "install"].copy()
    all_installs["credited_network"] = all_installs["attributed_network"].where(
        all_installs["attribution"] != "organic", "organic"
    )
    installs = _apply_filters(
        all_installs[in_range.loc[all_installs.index]], filters, INSTALL_COLUMNS
    )
    if "install" in bases:
        opens = events[events["type"] == "open"].merge(
            all_installs[["event_id", "event_time"]].rename(
                columns={"event_id": "install_event_id", "event_time": "install_time"}
            ),
            on="install_event_id",
        )
        opens["age"] = opens["event_time"] - opens["install_time"]
        frame = installs.copy()
        frame["ok"] = frame["attribution"] != "blocked"
        aggregates = {
            "installs": lambda p: int(p["ok"].sum()),
            "organic_installs": lambda p: int((p["attribution"] == "organic").sum()),
            "blocked_installs": lambda p: int((p["attribution"] == "blocked").sum()),
        }
        for n in days:
            on_day = opens[(opens["age"] >= n * DAY) & (opens["age"] < (n + 1) * DAY)]
            frame[f"ret{n}"] = frame["event_id"].isin(set(on_day["install_event_id"]))
            frame[f"mature{n}"] = frame["ok"] & (
                True if as_of is None else frame["event_time"] < _midnight(as_of - (n + 1) * DAY)
            )
            aggregates[f"ret{n}"] = lambda p, n=n: int((p[f"mature{n}"] & p[f"ret{n}"]).sum())
            aggregates[f"opened{n}"] = lambda p, n=n: int((p["ok"] & p[f"ret{n}"]).sum())
            aggregates[f"mature{n}"] = lambda p, n=n: int(p[f"mature{n}"].sum())
        merge(_group(_keyed(frame, dims, INSTALL_COLUMNS, "day", "day"), dims, aggregates))
    if "activity" in bases:
        cohort = installs[installs["attribution"] != "blocked"]
        activity = events[events["type"].isin(["open", "event"])][
            ["type", "name", "revenue", "event_time", "day", "install_event_id"]
        ].merge(
            cohort.drop(columns=["type", "name", "revenue", "install_event_id"]).rename(
                columns={"event_time": "install_time", "day": "install_day"}
            ),
            left_on="install_event_id",
            right_on="event_id",
        )
        activity["age"] = activity["event_time"] - activity["install_time"]
        aggregates = {
            "revenue": lambda p: float(p["revenue"].sum()),
            "sessions": lambda p: int((p["type"] == "open").sum()),
            "paying": lambda p: int(p.loc[p["revenue"] > 0, "install_event_id"].nunique()),
        }
        for n in days:
            within = lambda p, n=n: p["age"] < (n + 1) * DAY  # noqa: E731
            aggregates[f"rev{n}"] = lambda p, w=within: float(p.loc[w(p), "revenue"].sum())
            aggregates[f"sess{n}"] = lambda p, w=within: int((w(p) & (p["type"] == "open")).sum())
            aggregates[f"pay{n}"] = lambda p, w=within: int(
                p.loc[w(p) & (p["revenue"] > 0), "install_event_id"].nunique()
            )
        for m in metrics:
            if m.startswith("event:"):
                aggregates[m] = lambda p, name=m[6:]: int(
                    ((p["type"] == "event") & (p["name"] == name)).sum()
                )
        merge(
            _group(_keyed(activity, dims, INSTALL_COLUMNS, "install_day", "day"), dims, aggregates)
        )
    if "cost" in bases and joinable:
        frame = costs[(costs["app_id"] == app_id)].copy()
        for column in ("campaign", "adset", "ad", "country"):  # '' = not reported
            frame[column] = frame[column].where(frame[column] != "", None)
        frame["day"] = pd.to_datetime(frame["date"]).dt.date
        frame = frame[(frame["day"] >= date_from) & (frame["day"] <= date_to)]
        frame = _apply_filters(
            frame, filters, {d: d if d != "app" else "app_id" for d in COST_DIMENSIONS}
        )
        columns = {d: d if d != "app" else "app_id" for d in COST_DIMENSIONS}
        merge(
            _group(
                _keyed(frame, dims, columns, "day", "day"),
                dims,
                {
                    "cost": lambda p: float(p["spend_usd"].sum()),
                    "cost_impressions": lambda p: int(p["impressions"].sum()),
                },
            )
        )
    return {
        key: _metrics(values, metrics, "cost" in bases and joinable)
        for key, values in combined.items()
    }


def _midnight(moment: datetime) -> pd.Timestamp:
    """Start of the UTC day of `moment`: installs before it had their install date end."""
    return pd.Timestamp(moment).tz_convert("UTC").normalize()


def _div(a, b, scale=1.0):
    if a is None or b is None or b == 0:
        return None
    return a * scale / b


def _metrics(v: dict, metrics: list[str], with_cost: bool) -> dict[str, Any]:
    g = lambda name: v.get(name, 0)  # noqa: E731
    cost = g("cost") if with_cost else None
    out: dict[str, Any] = {}
    for m in metrics:
        if m in (
            "clicks",
            "impressions",
            "installs",
            "organic_installs",
            "blocked_installs",
            "revenue",
            "sessions",
        ) or m.startswith("event:"):
            out[m] = g(m)
        elif m == "ctr":
            out[m] = _div(g("clicks"), g("impressions"))
        elif m == "fraud_rate":
            out[m] = _div(g("blocked_installs"), g("installs") + g("blocked_installs"))
        elif m == "conversion_rate":
            out[m] = _div(g("installs"), g("clicks"))
        elif m == "cost":
            out[m] = cost
        elif m == "cpi":
            out[m] = _div(cost, g("installs"))
        elif m == "cpm":
            out[m] = _div(cost, g("cost_impressions") if with_cost else None, 1000.0)
        elif m == "arpu":
            out[m] = _div(g("revenue"), g("installs"))
        elif m == "arppu":
            out[m] = _div(g("revenue"), g("paying"))
        elif m == "paying_users":
            out[m] = g("paying")
        elif m == "roas":
            out[m] = _div(g("revenue"), cost)
        elif m == "blocked_spend":
            out[m] = _div(
                None if cost is None else cost * g("blocked_installs"),
                g("installs") + g("blocked_installs"),
            )
        elif match := FAMILY.match(m):
            family, n = match.group(1), match.group(2)
            out[m] = _family(family, n, g, cost)
        else:
            raise KeyError(m)
    return out


def _family(family: str, n: str, g, cost) -> Any:
    if family == "retention":
        return _div(g(f"ret{n}"), g(f"mature{n}"))
    if family == "retained_users":
        return g(f"opened{n}")
    if family == "revenue":
        return float(g(f"rev{n}"))
    if family == "roas":
        return _div(g(f"rev{n}"), cost)
    if family == "arpu":
        return _div(g(f"rev{n}"), g("installs"))
    if family == "sessions":
        return g(f"sess{n}")
    return g(f"pay{n}")
