"""Funnel report: how many installs go on to do ordered steps within a window.

The users are the installs of the period (not blocked, filters applied). Steps are
`install` (first step only), `open` or `event:<name>`. Each user's steps are matched
greedily: step 1 at its first occurrence at or after the install (the install itself for
`install`), each later step at its first occurrence strictly after the previous step and
no later than step 1 + the window. Greedy earliest matching finds a chain whenever one
exists, so a step's count is the number of installs that can reach it in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from attribo.metrics.catalog import DIMENSIONS, EVENT_PREFIX, NOT_BLOCKED
from attribo.metrics.query import (
    AggregateRequest,
    QueryStore,
    RequestError,
    SqlText,
    add_filters,
    date_range,
)

MAX_STEPS = 10
MAX_WINDOW_HOURS = 24 * 90


@dataclass(frozen=True)
class FunnelRequest:
    """Ordered steps over the installs of `base` (its metrics are not used)."""

    base: AggregateRequest
    steps: tuple[str, ...]
    window_hours: int = 24 * 7
    names: tuple[str | None, ...] = field(init=False)  # event name per step

    def __post_init__(self) -> None:
        steps = tuple(self.steps)
        if not 2 <= len(steps) <= MAX_STEPS:
            raise RequestError("steps", f"2 to {MAX_STEPS} steps")
        names: list[str | None] = []
        for k, step in enumerate(steps):
            if (step == "install" and k == 0) or step == "open":
                names.append(None)
            elif step.startswith(EVENT_PREFIX) and len(step) > len(EVENT_PREFIX):
                names.append(step.removeprefix(EVENT_PREFIX))
            else:
                raise RequestError(
                    "steps", f"{step!r}: expected install (first), open or event:<name>"
                )
        if isinstance(self.window_hours, bool) or not isinstance(self.window_hours, int):
            raise RequestError("window_hours", "must be an integer")
        if not 1 <= self.window_hours <= MAX_WINDOW_HOURS:
            raise RequestError("window_hours", f"1 to {MAX_WINDOW_HOURS}")
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "names", tuple(names))


def _match(sql: SqlText, name: str | None) -> None:
    if name is None:  # `open`: `install` is only ever the first step, matched without events
        sql.add("a.type = 'open'")
    else:
        sql.add("a.type = 'event' AND a.name = ?", name)


def build_funnel_sql(funnel: FunnelRequest) -> tuple[str, list[object]]:
    """SQL and parameters: one row per dimension values and a totals row (`total`)."""
    base = funnel.base
    start, end = date_range(base)
    sql = SqlText().add(
        "WITH inst AS (SELECT * FROM events i WHERE i.app_id = ? AND i.type = 'install'"
        f" AND {NOT_BLOCKED} AND i.event_time >= ? AND i.event_time < ?",
        base.app_id,
        start,
        end,
    )
    add_filters(sql, "install", base)
    sql.add(
        "), act AS (SELECT a.install_event_id AS iid, a.event_time AS t, a.type, a.name"
        " FROM events a SEMI JOIN inst i ON i.event_id = a.install_event_id"
        " WHERE a.app_id = ? AND a.type IN ('open', 'event'))",
        base.app_id,
    )
    window = f"INTERVAL {funnel.window_hours} HOUR"
    for k, (step, name) in enumerate(zip(funnel.steps, funnel.names, strict=True)):
        if k == 0 and step == "install":
            sql.add(
                ", s0 AS (SELECT i.event_id AS iid, i.event_time AS t, i.event_time AS t0"
                " FROM inst i)"
            )
            continue
        if k == 0:
            sql.add(
                ", s0 AS (SELECT i.event_id AS iid, min(a.t) AS t, min(a.t) AS t0"
                " FROM inst i JOIN act a ON a.iid = i.event_id AND a.t >= i.event_time WHERE "
            )
        else:
            sql.add(
                f", s{k} AS (SELECT p.iid, min(a.t) AS t, any_value(p.t0) AS t0"
                f" FROM s{k - 1} p JOIN act a ON a.iid = p.iid AND a.t > p.t"
                f" AND a.t <= p.t0 + {window} WHERE "
            )
        _match(sql, name)
        sql.add(f" GROUP BY {'i.event_id' if k == 0 else 'p.iid'})")
    dims = [f"{DIMENSIONS[name].install} AS d{k}" for k, name in enumerate(base.dimensions)]
    counts = [f"count(s{k}.iid) AS n{k}" for k in range(len(funnel.steps))]
    joins = "".join(f" LEFT JOIN s{k} ON s{k}.iid = i.event_id" for k in range(len(funnel.steps)))
    listed = ", ".join(f"d{k}" for k in range(len(dims)))
    total = f"GROUPING({listed}) <> 0" if dims else "true"
    sql.add(f" SELECT {''.join(d + ', ' for d in dims)}{total} AS total, {', '.join(counts)}")
    sql.add(f" FROM inst i{joins}")
    if dims:
        sql.add(f" GROUP BY GROUPING SETS (({listed}), ()) ORDER BY total, n0 DESC, {listed}")
    return sql.text(), sql.params


def run_funnel(store: QueryStore, funnel: FunnelRequest) -> dict[str, Any]:
    """`{"steps", "window_hours", "rows": [{dims..., "step_1".., "conversion"}], "totals"}`."""
    n = len(funnel.steps)
    rows: list[dict[str, Any]] = []
    totals: dict[str, Any] = {}
    limit = funnel.base.limit
    for record in store.query(*build_funnel_sql(funnel)).to_pylist():
        counts = {f"step_{k + 1}": int(record[f"n{k}"]) for k in range(n)}
        first, last = counts["step_1"], counts[f"step_{n}"]
        values = {**counts, "conversion": last / first if first else None}
        if record["total"]:
            totals = values
        elif len(rows) < limit:
            keys = {name: record[f"d{k}"] for k, name in enumerate(funnel.base.dimensions)}
            rows.append(
                {
                    **{k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in keys.items()},
                    **values,
                }
            )
    if not funnel.base.dimensions:
        rows = [dict(totals)]
    return {
        "steps": list(funnel.steps),
        "window_hours": funnel.window_hours,
        "rows": rows,
        "totals": totals,
    }
