"""The metrics catalogue: every metric and dimension defined once, with its SQL and meaning.

A metric is an expression over *atoms*; an atom is one aggregate over one *base*:

- `touch`: clicks and impressions of the app (`t`), dated by the touch.
- `install`: one row per install (`i`, the install's own stored row), dated by install time.
- `activity`: opens and in-app events (`a`) joined to the install they belong to (`i`, by
  `install_event_id`); dimensions are the install's (its attribution, country, platform) so
  revenue, sessions and events count for the install cohort. Events of blocked installs and
  events that belong to no install are left out.
- `cost`: rows of the `costs` table (`c`), dated by the cost date; a campaign, ad set, ad
  or country the row leaves out (stored as '') is unknown (NULL), so spend reported only at
  network level shows under an empty campaign rather than being spread over campaigns.

The request's date range is an install-date range for `install` and `activity`, and the
touch date / cost date for `touch` / `cost`. Days after install are 24-hour periods from
the install time: day N is `[N * 24 h, (N + 1) * 24 h)` after it.

Day-N metrics come in families (`retention_d<N>`, `revenue_d<N>`, `roas_d<N>`, `arpu_d<N>`,
`sessions_d<N>`, `paying_users_d<N>`, N = 0..30); the usual days are also listed by name.
Retention excludes young installs: day N counts only installs whose install *date* ended at
least N + 1 days before the request's `as_of` time (so every install of the date has had its
whole day N), in the numerator and the denominator.

Each atom has its SQL over raw events and, where a rollup can answer it, its SQL over the
rollup cubes (`store/rollups.py`): touch counts, and install sums with their activity
folded in (`n` installs, `revenue`, `rev_c<N>`, `ret_<N>` ... per day and dimensions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DAY_MS = 86_400_000
MAX_DAY = 30  # day-N families cover days 0..MAX_DAY
COHORT_DAYS = (0, 1, 3, 7, 14, 30)
RETENTION_DAYS = (1, 3, 7, 14, 30)
EVENT_PREFIX = "event:"
DAY_FAMILIES = (
    "retention",
    "retained_users",
    "revenue",
    "roas",
    "arpu",
    "sessions",
    "paying_users",
)
_FAMILY_NAME = re.compile(r"^(" + "|".join(DAY_FAMILIES) + r")_d(0|[1-9][0-9]?)$")
NOT_BLOCKED = "i.attribution IS DISTINCT FROM 'blocked'"
_AGE_MS = "(epoch_ms(a.event_time) - epoch_ms(i.event_time))"


@dataclass(frozen=True)
class Atom:
    """One aggregate over one base, summed again when bases are combined."""

    name: str
    base: str  # touch | install | activity | cost
    sql: str  # over raw events
    rollup: str | None = None  # over the rollup tables; None: the rollup cannot answer it
    retention_day: int | None = None  # the raw install base joins the day's open flag
    mature_day: int | None = None  # binds one `?`: the latest install time old enough for it


@dataclass(frozen=True)
class Metric:
    """A metric: SQL over atom columns, its display format and what it means."""

    name: str
    sql: str
    atoms: tuple[str, ...]
    format: str  # integer | currency | percent (a share, 0..1) | ratio
    description: str


@dataclass(frozen=True)
class Dimension:
    """A dimension: its SQL on each base (None: the base has no such column)."""

    name: str
    touch: str
    install: str
    activity: str
    cost: str | None
    description: str
    filterable: bool = True


def _atoms() -> dict[str, Atom]:
    atoms = [
        Atom(
            "n_clicks",
            "touch",
            "count(*) FILTER (WHERE t.type = 'click')",
            "sum(t.n) FILTER (WHERE t.type = 'click')",
        ),
        Atom(
            "n_impressions",
            "touch",
            "count(*) FILTER (WHERE t.type = 'impression')",
            "sum(t.n) FILTER (WHERE t.type = 'impression')",
        ),
        _installs("n_installs", NOT_BLOCKED),
        _installs("n_organic", "i.attribution = 'organic'"),
        _installs("n_blocked", "i.attribution = 'blocked'"),
        Atom("s_revenue", "activity", "sum(a.revenue)", "sum(i.revenue)"),
        Atom(
            "n_paying",
            "activity",
            "count(DISTINCT a.install_event_id) FILTER (WHERE a.revenue > 0)",
            "sum(i.n_paying)",
        ),
        Atom(
            "n_sessions",
            "activity",
            "count(*) FILTER (WHERE a.type = 'open')",
            "sum(i.sessions)",
        ),
        Atom("s_cost", "cost", "sum(c.spend_usd)"),
        Atom("n_cost_impressions", "cost", "sum(c.impressions)"),
    ]
    for n in range(MAX_DAY + 1):
        within = f"{_AGE_MS} < {(n + 1) * DAY_MS}"
        atoms += [
            Atom(
                f"s_revenue_d{n}",
                "activity",
                f"sum(a.revenue) FILTER (WHERE {within})",
                f"sum(i.rev_c{n})",
            ),
            Atom(
                f"n_sessions_d{n}",
                "activity",
                f"count(*) FILTER (WHERE a.type = 'open' AND {within})",
                f"sum(i.sess_c{n})",
            ),
            Atom(
                f"n_paying_d{n}",
                "activity",
                f"count(DISTINCT a.install_event_id) FILTER (WHERE a.revenue > 0 AND {within})",
                f"sum(i.pay_c{n})",
            ),
            Atom(
                f"n_retained_d{n}",
                "install",
                f"count(*) FILTER (WHERE {NOT_BLOCKED} AND r.ret_d{n} AND i.event_time < ?)",
                f"sum(i.ret_{n}) FILTER (WHERE {NOT_BLOCKED} AND i.event_time < ?)",
                retention_day=n,
                mature_day=n,
            ),
            _installs(f"n_mature_d{n}", f"{NOT_BLOCKED} AND i.event_time < ?", mature_day=n),
            Atom(
                f"n_opened_d{n}",
                "install",
                f"count(*) FILTER (WHERE {NOT_BLOCKED} AND r.ret_d{n})",
                f"sum(i.ret_{n}) FILTER (WHERE {NOT_BLOCKED})",
                retention_day=n,
            ),
        ]
    return {atom.name: atom for atom in atoms}


def _installs(name: str, condition: str, mature_day: int | None = None) -> Atom:
    """Installs meeting `condition`: counted over raw installs, summed over install cubes."""
    return Atom(
        name,
        "install",
        f"count(*) FILTER (WHERE {condition})",
        f"sum(i.n) FILTER (WHERE {condition})",
        mature_day=mature_day,
    )


ATOMS: dict[str, Atom] = _atoms()


def _ratio(num: str, den: str, scale: str = "") -> str:
    return f"CAST({num} AS DOUBLE){scale} / nullif({den}, 0)"


def _metrics() -> dict[str, Metric]:
    m = [
        Metric("clicks", "n_clicks", ("n_clicks",), "integer", "Tracked clicks, by click date."),
        Metric(
            "impressions",
            "n_impressions",
            ("n_impressions",),
            "integer",
            "Tracked impressions, by impression date.",
        ),
        Metric(
            "ctr",
            _ratio("n_clicks", "n_impressions"),
            ("n_clicks", "n_impressions"),
            "percent",
            "Click-through rate: clicks / impressions.",
        ),
        Metric(
            "installs",
            "n_installs",
            ("n_installs",),
            "integer",
            "Installs by install date: attributed ones under their network, organic ones "
            "under network `organic`; blocked installs are never counted here.",
        ),
        Metric(
            "organic_installs",
            "n_organic",
            ("n_organic",),
            "integer",
            "Installs no touch was credited for, by install date.",
        ),
        Metric(
            "blocked_installs",
            "n_blocked",
            ("n_blocked",),
            "integer",
            "Installs blocked as fraud, by install date (under the network that would have "
            "been credited).",
        ),
        Metric(
            "fraud_rate",
            _ratio("n_blocked", "n_installs + n_blocked"),
            ("n_blocked", "n_installs"),
            "percent",
            "Blocked installs / (installs + blocked installs).",
        ),
        Metric(
            "conversion_rate",
            _ratio("n_installs", "n_clicks"),
            ("n_installs", "n_clicks"),
            "percent",
            "Installs / clicks (installs by install date, clicks by click date).",
        ),
        Metric(
            "cost",
            "s_cost",
            ("s_cost",),
            "currency",
            "Spend in USD from the costs table, by cost date; NULL where the breakdown has a "
            "dimension or filter the costs table lacks (platform, site), or no costs table.",
        ),
        Metric(
            "cpi",
            _ratio("s_cost", "n_installs"),
            ("s_cost", "n_installs"),
            "currency",
            "Cost per install: cost / installs.",
        ),
        Metric(
            "cpm",
            _ratio("s_cost", "n_cost_impressions", " * 1000"),
            ("s_cost", "n_cost_impressions"),
            "currency",
            "Cost per thousand impressions as the networks report them in the costs table "
            "(tracked impressions are a sample): cost * 1000 / reported impressions.",
        ),
        Metric(
            "revenue",
            "s_revenue",
            ("s_revenue",),
            "currency",
            "Revenue (USD) of the install cohort's events, at any time after install.",
        ),
        Metric(
            "arpu",
            _ratio("s_revenue", "n_installs"),
            ("s_revenue", "n_installs"),
            "currency",
            "Average revenue per user: cohort revenue / installs.",
        ),
        Metric(
            "arppu",
            _ratio("s_revenue", "n_paying"),
            ("s_revenue", "n_paying"),
            "currency",
            "Average revenue per paying user: cohort revenue / paying users.",
        ),
        Metric(
            "paying_users",
            "n_paying",
            ("n_paying",),
            "integer",
            "Installs of the cohort with at least one event carrying revenue > 0 (distinct "
            "installs; not additive across event dates).",
        ),
        Metric(
            "roas",
            _ratio("s_revenue", "s_cost"),
            ("s_revenue", "s_cost"),
            "ratio",
            "Return on ad spend, cumulative: cohort revenue / cost.",
        ),
        Metric(
            "sessions",
            "n_sessions",
            ("n_sessions",),
            "integer",
            "Opens by users of the install cohort.",
        ),
    ]
    m.append(
        Metric(
            "blocked_spend",
            "s_cost * CAST(n_blocked AS DOUBLE) / nullif(n_installs + n_blocked, 0)",
            ("s_cost", "n_blocked", "n_installs"),
            "currency",
            "Spend that paid for blocked installs: cost x blocked installs / (installs + "
            "blocked installs), the networks' effective price per claimed install.",
        )
    )
    m += [day_metric("roas", n) for n in COHORT_DAYS]
    m += [day_metric("retention", n) for n in RETENTION_DAYS]
    return {metric.name: metric for metric in m}


EVENT_METRIC_DESCRIPTION = (
    "`event:<name>`: count of in-app events named <name> by users of the install cohort."
)


def event_metric(name: str, atom: str) -> Metric:
    """The `event:<name>` metric over its own atom (the name is bound as a parameter)."""
    return Metric(name, atom, (atom,), "integer", EVENT_METRIC_DESCRIPTION)


def event_atom(atom: str) -> Atom:
    """Atom counting events named by the next parameter."""
    return Atom(atom, "activity", "count(*) FILTER (WHERE a.type = 'event' AND a.name = ?)")


_INSTALL_NETWORK = (
    "CASE WHEN i.attribution = 'organic' THEN 'organic' ELSE i.attributed_network END"
)


def _day(column: str, unit: str) -> str:
    """The UTC day (week: from Monday; month) of a timestamp, in SQL both stores read.

    Every store session runs in UTC (DuckDB cursors `SET TimeZone = 'UTC'`; ClickHouse
    columns are `DateTime64(3, 'UTC')`), so a plain cast is the UTC date in both.
    """
    if unit == "day":
        return f"CAST({column} AS DATE)"
    return f"CAST(date_trunc('{unit}', {column}) AS DATE)"


def _cost_day(unit: str) -> str:
    return "c.date" if unit == "day" else f"CAST(date_trunc('{unit}', c.date) AS DATE)"


def _dimensions() -> dict[str, Dimension]:
    d = [
        Dimension("app", "t.app_id", "i.app_id", "i.app_id", "c.app_id", "App id."),
        Dimension(
            "platform",
            "t.platform",
            "i.platform",
            "i.platform",
            None,
            "Platform of the touch or install (ios, android); not in costs.",
        ),
        Dimension(
            "network",
            "t.network",
            _INSTALL_NETWORK,
            _INSTALL_NETWORK,
            "c.network",
            "Network of the touch; for installs and their events the credited network, "
            "`organic` for organic installs.",
        ),
        Dimension(
            "campaign",
            "t.campaign",
            "i.attributed_campaign",
            "i.attributed_campaign",
            "nullif(c.campaign, '')",
            "Campaign of the touch, or credited to the install.",
        ),
        Dimension(
            "adset",
            "t.adset",
            "i.attributed_adset",
            "i.attributed_adset",
            "nullif(c.adset, '')",
            "Ad set of the touch, or credited to the install.",
        ),
        Dimension(
            "ad",
            "t.ad",
            "i.attributed_ad",
            "i.attributed_ad",
            "nullif(c.ad, '')",
            "Ad of the touch, or credited to the install.",
        ),
        Dimension(
            "site",
            "t.site_id",
            "i.attributed_site_id",
            "i.attributed_site_id",
            None,
            "Publisher site id of the touch, or credited to the install; not in costs.",
        ),
        Dimension(
            "country",
            "t.country",
            "i.country",
            "i.country",
            "nullif(c.country, '')",
            "Country of the touch, or of the install (for its events too).",
        ),
    ]
    for unit in ("day", "week", "month"):
        suffix = "" if unit == "day" else f":{unit}"
        d.append(
            Dimension(
                f"install_date{suffix}",
                _day("t.event_time", unit),
                _day("i.event_time", unit),
                _day("i.event_time", unit),
                _cost_day(unit),
                f"Install {unit} (UTC, weeks start Monday) for installs and their cohort's "
                f"events; the touch's {unit} for clicks and impressions, the cost's for cost.",
                filterable=False,
            )
        )
        d.append(
            Dimension(
                f"event_date{suffix}",
                _day("t.event_time", unit),
                _day("i.event_time", unit),
                _day("a.event_time", unit),
                _cost_day(unit),
                f"{unit.capitalize()} (UTC) the counted thing happened: the touch, the install, "
                f"the open or event, the cost. Retention stays per install (install {unit}).",
                filterable=False,
            )
        )
    return {dim.name: dim for dim in d}


DIMENSIONS: dict[str, Dimension] = _dimensions()


def day_metric(family: str, n: int) -> Metric:
    """Metric `<family>_d<n>`: the cohort's value within n + 1 days of install."""
    within = f"within {n + 1} x 24 h of install (day {n} included)"
    defs = {
        "retention": (
            _ratio(f"n_retained_d{n}", f"n_mature_d{n}"),
            (f"n_retained_d{n}", f"n_mature_d{n}"),
            "percent",
            f"Share of installs with an open on day {n} after install ([{n} x 24 h, "
            f"{n + 1} x 24 h) after the install time), among installs whose install date "
            f"ended at least {n + 1} days before `as_of` (younger ones are left out).",
        ),
        "retained_users": (
            f"n_opened_d{n}",
            (f"n_opened_d{n}",),
            "integer",
            f"Installs with an open on day {n} after install, however young the install.",
        ),
        "revenue": (
            f"s_revenue_d{n}",
            (f"s_revenue_d{n}",),
            "currency",
            f"Cohort revenue {within}.",
        ),
        "roas": (
            _ratio(f"s_revenue_d{n}", "s_cost"),
            (f"s_revenue_d{n}", "s_cost"),
            "ratio",
            f"Cohort revenue {within} / cost.",
        ),
        "arpu": (
            _ratio(f"s_revenue_d{n}", "n_installs"),
            (f"s_revenue_d{n}", "n_installs"),
            "currency",
            f"Cohort revenue {within} / installs.",
        ),
        "sessions": (
            f"n_sessions_d{n}",
            (f"n_sessions_d{n}",),
            "integer",
            f"Opens by users of the install cohort {within}.",
        ),
        "paying_users": (
            f"n_paying_d{n}",
            (f"n_paying_d{n}",),
            "integer",
            f"Installs of the cohort with revenue > 0 {within}.",
        ),
    }
    sql, atoms, fmt, description = defs[family]
    return Metric(f"{family}_d{n}", sql, atoms, fmt, description)


METRICS: dict[str, Metric] = _metrics()


def lookup_metric(name: str) -> Metric | None:
    """The metric of that name: listed, or of a day-N family (not `event:<name>`)."""
    if name in METRICS:
        return METRICS[name]
    match = _FAMILY_NAME.match(name)
    if match is None or int(match.group(2)) > MAX_DAY:
        return None
    return day_metric(match.group(1), int(match.group(2)))


def describe_catalogue() -> dict[str, list[dict[str, str]]]:
    """The catalogue as JSON-ready lists (what `GET /v1/metrics` answers)."""
    metrics = [
        {"name": m.name, "format": m.format, "description": m.description} for m in METRICS.values()
    ]
    metrics.append(
        {
            "name": f"{EVENT_PREFIX}<name>",
            "format": "integer",
            "description": EVENT_METRIC_DESCRIPTION,
        }
    )
    for family in DAY_FAMILIES:
        example = day_metric(family, 7)
        metrics.append(
            {
                "name": f"{family}_d<N>",
                "format": example.format,
                "description": f"Day N = 0..{MAX_DAY}; for N = 7: {example.description}",
            }
        )
    dimensions = [
        {"name": d.name, "description": d.description, "in_costs": str(d.cost is not None).lower()}
        for d in DIMENSIONS.values()
    ]
    return {"metrics": metrics, "dimensions": dimensions}
