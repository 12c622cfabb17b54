"""Aggregate reports: a validated request becomes one parameterised SQL query over the store.

Each base the requested metrics need (see `catalog`) is grouped by the requested dimensions
on its own; the groups are stacked (`UNION ALL`, by position) and summed again, so installs by
install date, cohort revenue and retention, touches by touch date and cost by cost date meet
on the same dimension values.

Cost-join rule: cost rows join at the deepest level both sides share, which is exactly the
requested dimensions (app, network, campaign, adset, ad, country, and dates as the cost
date). When a requested dimension or filter has no column in `costs` (platform, site), or
there is no `costs` table, cost is NULL in every row and in the totals, and so are the
metrics built on it (CPI, CPM, ROAS); otherwise a row without cost rows has cost 0.

Where the store keeps rollups current (`RollupStore.refresh_rollups`), touches and installs
with their activity are read from the smallest rollup cube holding every requested and
filtered dimension (`store.rollup_layout`); only what a cube cannot answer (`event:<name>`
counts, activity by event date) still reads raw events. Both paths give the same numbers
(tests compare them on every metric and dimension).

Only catalogue SQL is ever written into the query text; every value from the request (app,
dates, filter values, event names, `as_of`, the limit) is a `?` parameter.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

import pyarrow as pa

from attribo.metrics.catalog import (
    ATOMS,
    DAY_MS,
    DIMENSIONS,
    EVENT_PREFIX,
    NOT_BLOCKED,
    Atom,
    Metric,
    event_atom,
    event_metric,
    lookup_metric,
)
from attribo.store.rollup_layout import cube_for

MAX_LIMIT = 10_000
MAX_FILTER_VALUES = 1_000
_BASE_ORDER = ("touch", "install", "activity", "cost")


class QueryStore(Protocol):
    """What reports need of a store: a read-only query with `?` parameters."""

    def query(self, sql: str, params: list[object]) -> pa.Table:
        """Rows of the query as Arrow."""
        ...


class RollupStore(QueryStore, Protocol):
    """A store that keeps report rollups current with its events."""

    def refresh_rollups(self) -> bool:
        """Bring the rollups up to the stored events; False if the store has none."""
        ...


class RequestError(ValueError):
    """A request the catalogue cannot answer; `field` names the offending request field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass(frozen=True)
class AggregateRequest:
    """A validated aggregate report request (raises `RequestError` when built invalid)."""

    app_id: str
    metrics: tuple[str, ...]
    date_from: date
    date_to: date
    dimensions: tuple[str, ...] = ()
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sort: str | None = None  # a requested metric or dimension, `-` for descending
    limit: int = 1_000
    as_of: datetime | None = None  # when young installs are judged (retention); None: now

    def __post_init__(self) -> None:
        """Check every field against the catalogue."""
        if not isinstance(self.app_id, str) or not self.app_id:
            raise RequestError("app_id", "required")
        object.__setattr__(self, "metrics", tuple(self.metrics))
        object.__setattr__(self, "dimensions", tuple(self.dimensions))
        if not self.metrics:
            raise RequestError("metrics", "at least one metric is required")
        for name in self.metrics:
            if not isinstance(name, str) or not (
                lookup_metric(name) is not None
                or (name.startswith(EVENT_PREFIX) and len(name) > len(EVENT_PREFIX))
            ):
                raise RequestError("metrics", f"unknown metric {name!r}")
        for name in self.dimensions:
            if name not in DIMENSIONS:
                raise RequestError("dimensions", f"unknown dimension {name!r}")
        for label, values in (("metrics", self.metrics), ("dimensions", self.dimensions)):
            if len(set(values)) != len(values):
                raise RequestError(label, "listed twice")
        for label in ("date_from", "date_to"):
            value = getattr(self, label)
            if not isinstance(value, date) or isinstance(value, datetime):
                raise RequestError(label, "must be a date")
        if self.date_from > self.date_to:
            raise RequestError("date_to", "before date_from")
        filters: dict[str, tuple[str, ...]] = {}
        for name, values in dict(self.filters).items():
            dim = DIMENSIONS.get(name)
            if dim is None or not dim.filterable:
                raise RequestError("filters", f"cannot filter on {name!r}")
            values = tuple(values)
            if not values or len(values) > MAX_FILTER_VALUES:
                raise RequestError("filters", f"{name}: 1 to {MAX_FILTER_VALUES} values")
            if not all(isinstance(v, str) for v in values):
                raise RequestError("filters", f"{name}: values must be strings")
            filters[name] = values
        object.__setattr__(self, "filters", filters)
        if self.sort is not None:
            key = self.sort.removeprefix("-")
            if key not in self.metrics and key not in self.dimensions:
                raise RequestError("sort", f"{key!r} is not a requested metric or dimension")
        if isinstance(self.limit, bool) or not isinstance(self.limit, int):
            raise RequestError("limit", "must be an integer")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise RequestError("limit", f"must be between 1 and {MAX_LIMIT}")
        if self.as_of is not None and (
            not isinstance(self.as_of, datetime) or self.as_of.utcoffset() is None
        ):
            raise RequestError("as_of", "must be a datetime with a time zone")

    def judged_at(self) -> datetime:
        """The `as_of` time, now when not given."""
        return self.as_of if self.as_of is not None else datetime.now(UTC)


@dataclass
class SqlText:
    """SQL text with its parameters, appended in textual order."""

    parts: list[str] = field(default_factory=list)
    params: list[object] = field(default_factory=list)

    def add(self, text: str, *params: object) -> SqlText:
        self.parts.append(text)
        self.params.extend(params)
        return self

    def text(self) -> str:
        return "".join(self.parts)


@dataclass(frozen=True)
class _Plan:
    metrics: dict[str, Metric]  # requested name -> definition
    atoms: dict[str, Atom]
    event_names: dict[str, str]  # atom -> event name (a parameter)
    rolled: frozenset[str] = frozenset()  # bases read from the rollups
    cube: str = ""  # the rollup cube they read

    def atom_sql(self, atom: Atom) -> str:
        """The atom's SQL for the source its base reads."""
        if atom.base in self.rolled:
            assert atom.rollup is not None
            return atom.rollup
        return atom.sql

    def atom_params(self, atom: Atom, request: AggregateRequest) -> list[object]:
        """Values for the atom's `?` marks, in order."""
        if atom.name in self.event_names:
            return [self.event_names[atom.name]]
        if atom.mature_day is not None:
            return [mature_before(request.judged_at(), atom.mature_day)]
        return []


def mature_before(as_of: datetime, day: int) -> datetime:
    """Installs before this time have had all of day `day` by `as_of`: their install date
    ended `day + 1` days before it (a midnight, so day-level cubes answer it exactly)."""
    moment = (as_of - timedelta(days=day + 1)).astimezone(UTC)
    return datetime.combine(moment.date(), time(), UTC)


def _rolled_bases(request: AggregateRequest, atoms: dict[str, Atom]) -> frozenset[str]:
    """Bases the rollups answer: all but cost, unless activity needs raw rows (event counts
    by name, or a dimension dated by the activity); then the installs it joins are raw too."""
    activity_raw = any(
        atom.base == "activity" and atom.rollup is None for atom in atoms.values()
    ) or any("a." in DIMENSIONS[name].activity for name in request.dimensions)
    return frozenset({"touch"} if activity_raw else {"touch", "install", "activity"})


def _plan(request: AggregateRequest, rollups: bool = False) -> _Plan:
    metrics: dict[str, Metric] = {}
    atoms: dict[str, Atom] = {}
    event_names: dict[str, str] = {}
    for name in request.metrics:
        known = lookup_metric(name)
        if known is not None:
            metric = known
            for atom in metric.atoms:
                atoms[atom] = ATOMS[atom]
        else:
            atom_name = f"n_event_{len(event_names)}"
            event_names[atom_name] = name.removeprefix(EVENT_PREFIX)
            atoms[atom_name] = event_atom(atom_name)
            metric = event_metric(name, atom_name)
        metrics[name] = metric
    if not rollups:
        return _Plan(metrics, atoms, event_names)
    cube = cube_for({*request.dimensions, *request.filters})
    return _Plan(metrics, atoms, event_names, _rolled_bases(request, atoms), cube)


def costs_joinable(request: AggregateRequest) -> bool:
    """Whether every requested dimension and filter has a column in the costs table."""
    names = [*request.dimensions, *request.filters]
    return all(DIMENSIONS[name].cost is not None for name in names)


def _dim_sql(base: str, name: str) -> str:
    dim = DIMENSIONS[name]
    sql = {"touch": dim.touch, "install": dim.install, "activity": dim.activity}.get(base)
    if sql is None:
        assert dim.cost is not None  # cost is only planned when every dimension has a column
        sql = dim.cost
    return sql


def date_range(request: AggregateRequest) -> tuple[datetime, datetime]:
    start = datetime.combine(request.date_from, time(), UTC)
    return start, datetime.combine(request.date_to, time(), UTC) + timedelta(days=1)


def _retention_join(days: Sequence[int]) -> str:
    age = "epoch_ms(o.event_time) - epoch_ms(j.event_time)"
    flags = ", ".join(
        f"bool_or({age} >= {n * DAY_MS} AND {age} < {(n + 1) * DAY_MS}) AS ret_d{n}" for n in days
    )
    return (
        f" LEFT JOIN (SELECT o.install_event_id AS iid, {flags} FROM events o"
        " JOIN inst j ON j.event_id = o.install_event_id"
        " WHERE o.app_id = ? AND o.type = 'open' GROUP BY 1) r ON r.iid = i.event_id"
    )


def add_filters(sql: SqlText, base: str, request: AggregateRequest) -> None:
    for name, values in request.filters.items():
        marks = ", ".join("?" for _ in values)
        sql.add(f" AND {_dim_sql(base, name)} IN ({marks})", *values)


def _installs_cte(sql: SqlText, request: AggregateRequest, cube: str) -> None:
    """`inst`: the installs of the request (range and filters), shared by the install bases;
    from the install cube `cube`, or raw events if it is empty."""
    start, end = date_range(request)
    source = f"rollup_inst_{cube} i WHERE" if cube else "events i WHERE i.type = 'install' AND"
    sql.add(
        f"inst AS (SELECT * FROM {source} i.app_id = ? AND i.event_time >= ? AND i.event_time < ?",
        request.app_id,
        start,
        end,
    )
    add_filters(sql, "install", request)
    sql.add("), ")


def _base_select(
    sql: SqlText,
    base: str,
    request: AggregateRequest,
    plan: _Plan,
    dims: Sequence[str],
    stacked: Sequence[Atom],
) -> None:
    columns = [f"{_dim_sql(base, name)} AS d{k}" for k, name in enumerate(dims)]
    if dims:
        columns.append(f"GROUPING({', '.join(f'd{k}' for k in range(len(dims)))}) <> 0 AS total")
    sql.add("SELECT " + "".join(f"{column}, " for column in columns))
    atoms = [atom for atom in plan.atoms.values() if atom.base == base]
    rolled = base in plan.rolled
    for k, atom in enumerate(stacked):
        sql.add(", " if k else "")
        if atom.base == base:
            sql.add(f"{plan.atom_sql(atom)} AS {atom.name}", *plan.atom_params(atom, request))
        else:
            sql.add(f"NULL AS {atom.name}")
    if base == "touch":
        start, end = date_range(request)
        source = f"rollup_touch_{plan.cube} t WHERE" if rolled else "events t WHERE"
        sql.add(
            f" FROM {source} t.app_id = ? AND t.type IN ('click', 'impression')"
            " AND t.event_time >= ? AND t.event_time < ?",
            request.app_id,
            start,
            end,
        )
        add_filters(sql, base, request)
    elif base == "install":
        sql.add(" FROM inst i")
        days = sorted({a.retention_day for a in atoms if a.retention_day is not None})
        if days and not rolled:
            sql.add(_retention_join(days), request.app_id)
    elif base == "activity" and rolled:  # folded into the install cube
        sql.add(f" FROM inst i WHERE {NOT_BLOCKED}")
    elif base == "activity":
        sql.add(
            " FROM events a JOIN inst i ON i.event_id = a.install_event_id"
            " WHERE a.app_id = ? AND a.type IN ('open', 'event')"
            " AND i.attribution IS DISTINCT FROM 'blocked'",
            request.app_id,
        )
    else:
        sql.add(
            " FROM costs c WHERE c.app_id = ? AND c.date BETWEEN ? AND ?",
            request.app_id,
            request.date_from,
            request.date_to,
        )
        add_filters(sql, base, request)
    if dims:  # every base totals itself: distinct counts cannot be summed over groups
        listed = ", ".join(f"d{k}" for k in range(len(dims)))
        sql.add(f" GROUP BY GROUPING SETS (({listed}), ())")
        if base == "activity" and rolled:  # as raw: only groups with some activity
            sql.add(f" HAVING GROUPING({listed}) <> 0 OR sum(i.n_active) > 0")
        elif base == "install" and rolled:  # as raw: only groups with installs (a relabel
            sql.add(f" HAVING GROUPING({listed}) <> 0 OR sum(i.n) > 0")  # can empty one)


def _order_keys(request: AggregateRequest) -> list[str]:
    keys = []
    if request.sort is not None:
        name = request.sort.removeprefix("-")
        column = (
            f"m{request.metrics.index(name)}"
            if name in request.metrics
            else f"d{request.dimensions.index(name)}"
        )
        keys.append(f"{column} {'DESC' if request.sort.startswith('-') else 'ASC'} NULLS LAST")
    return keys + [f"d{k} ASC NULLS LAST" for k in range(len(request.dimensions))]


def build_sql(
    request: AggregateRequest, costs_table: bool, rollups: bool = False
) -> tuple[str, list[object]] | None:
    """SQL and parameters answering `request`; None when no base is queryable.

    One query gives the rows (sorted, limited) and, in the row whose `total` is true, the
    totals over every row (each base adds a grand-total grouping set), so the events are
    read once. `costs_table` says whether the store has a `costs` table, `rollups` whether
    its rollup tables are current.
    """
    plan = _plan(request, rollups)
    dims = request.dimensions
    with_cost = costs_table and costs_joinable(request)
    bases = [
        base
        for base in _BASE_ORDER
        if any(atom.base == base for atom in plan.atoms.values()) and (base != "cost" or with_cost)
    ]
    if not bases:
        return None
    sql = SqlText().add("WITH ")
    if "install" in bases or "activity" in bases:
        _installs_cte(sql, request, plan.cube if "install" in plan.rolled else "")
    sql.add("u AS (")
    # Stacked by position (ClickHouse has no BY NAME): every base lists every atom of the
    # query in one order, NULL for the atoms of other bases.
    stacked = [atom for atom in plan.atoms.values() if atom.base in bases]
    for k, base in enumerate(bases):
        sql.add(" UNION ALL " if k else "")
        sql.add("(")
        _base_select(sql, base, request, plan, dims, stacked)
        sql.add(")")
    dim_cols = [f"d{k}" for k in range(len(dims))]
    sums = [
        f"coalesce(sum({name}), 0) AS {name}"
        if atom.base in bases
        else f"CAST(NULL AS DOUBLE) AS {name}"
        for name, atom in plan.atoms.items()
    ]
    outputs = ", ".join(
        [*dim_cols, *(f"{metric.sql} AS m{k}" for k, metric in enumerate(plan.metrics.values()))]
    )
    if not dims:
        sql.add(f"), g AS (SELECT {', '.join(sums)} FROM u)")
        sql.add(f" SELECT true AS total, {outputs} FROM g")
        return sql.text(), sql.params
    listed = ", ".join(dim_cols)
    sql.add(
        f"), g AS (SELECT total, {listed}, {', '.join(sums)} FROM u GROUP BY total, {listed}"
        f"), r AS (SELECT false AS total, {outputs} FROM g WHERE NOT total"
        f" ORDER BY {', '.join(_order_keys(request))} LIMIT ?)"
    )
    sql.params.append(request.limit)
    sql.add(
        f" SELECT * FROM (SELECT * FROM r UNION ALL SELECT true AS total, {outputs} FROM g"
        f" WHERE total) ORDER BY total, {', '.join(_order_keys(request))}"
    )
    return sql.text(), sql.params


_COSTS_SEEN: weakref.WeakSet[Any] = weakref.WeakSet()


def has_costs_table(store: QueryStore) -> bool:
    """Whether the store holds a `costs` table (costs are optional; once there, it stays)."""
    if store in _COSTS_SEEN:
        return True
    table = store.query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = ?", ["costs"]
    )
    found = bool(table.column("n")[0].as_py())
    if found:
        _COSTS_SEEN.add(store)
    return found


# A float sum depends on the order the engine adds the rows in (DuckDB and ClickHouse differ
# in the last bits), so every non-integer value keeps 12 significant digits, far more than any
# amount or share needs: the same events read the same on either store.
_SIGNIFICANT = 12


def _value(metric: Metric, value: Any) -> Any:
    if value is None:
        return None
    if metric.format == "integer":
        return int(value)
    return float(f"{float(value):.{_SIGNIFICANT}g}")


def _key(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def rollups_current(store: QueryStore) -> bool:
    """Refresh the store's rollups if it keeps any; whether queries may read them."""
    refresh = getattr(store, "refresh_rollups", None)
    return bool(refresh()) if callable(refresh) else False


def run_aggregate(
    store: QueryStore, request: AggregateRequest, rollups: bool | None = None
) -> dict[str, Any]:
    """Answer `request`: `{"rows": [{dimension: value, metric: value}], "totals": {...}}`.

    Totals are computed over every row the filters select, not only the `limit` returned.
    `rollups` None: use the store's rollups when it keeps them (refreshed first); False:
    read raw events only (the reference the rollups are tested against).
    """
    use_rollups = rollups_current(store) if rollups is None else rollups
    plan = _plan(request)
    metrics = list(plan.metrics.values())
    rows: list[dict[str, Any]] = []
    totals: dict[str, Any] = {name: None for name in request.metrics}
    built = build_sql(request, has_costs_table(store), use_rollups)
    if built is None:
        return {"rows": rows, "totals": totals}
    for record in store.query(*built).to_pylist():
        values = {
            request.metrics[k]: _value(metric, record[f"m{k}"]) for k, metric in enumerate(metrics)
        }
        if record["total"]:
            totals = values
            if not request.dimensions:  # the one row of an undivided report is the total
                rows.append(dict(values))
        else:
            keys = {name: _key(record[f"d{k}"]) for k, name in enumerate(request.dimensions)}
            rows.append({**keys, **values})
    return {"rows": rows, "totals": totals}
