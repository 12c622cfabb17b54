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
"""

from __future__ import annotations

from dataclasses import dataclass

DAY_MS = 86_400_000
COHORT_DAYS = (0, 1, 3, 7, 14, 30)
RETENTION_DAYS = (1, 3, 7, 14, 30)
EVENT_PREFIX = "event:"
_NOT_BLOCKED = "i.attribution IS DISTINCT FROM 'blocked'"
_AGE_MS = "(epoch_ms(a.event_time) - epoch_ms(i.event_time))"


@dataclass(frozen=True)
class Atom:
    """One aggregate over one base, summed again when bases are combined."""

    name: str
    base: str  # touch | install | activity | cost
    sql: str
    needs_retention: bool = False  # the install base must join the per-install open flags


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
        Atom("n_clicks", "touch", "count(*) FILTER (WHERE t.type = 'click')"),
        Atom("n_impressions", "touch", "count(*) FILTER (WHERE t.type = 'impression')"),
        Atom("n_installs", "install", f"count(*) FILTER (WHERE {_NOT_BLOCKED})"),
        Atom("n_organic", "install", "count(*) FILTER (WHERE i.attribution = 'organic')"),
        Atom("n_blocked", "install", "count(*) FILTER (WHERE i.attribution = 'blocked')"),
        Atom("s_revenue", "activity", "sum(a.revenue)"),
        Atom(
            "n_paying",
            "activity",
            "count(DISTINCT a.install_event_id) FILTER (WHERE a.revenue > 0)",
        ),
        Atom("n_sessions", "activity", "count(*) FILTER (WHERE a.type = 'open')"),
        Atom("s_cost", "cost", "sum(c.spend_usd)"),
        Atom("n_cost_impressions", "cost", "sum(c.impressions)"),
    ]
    for n in COHORT_DAYS:
        atoms.append(
            Atom(
                f"s_revenue_d{n}",
                "activity",
                f"sum(a.revenue) FILTER (WHERE {_AGE_MS} < {(n + 1) * DAY_MS})",
            )
        )
    for n in RETENTION_DAYS:
        atoms.append(
            Atom(
                f"n_retained_d{n}",
                "install",
                f"count(*) FILTER (WHERE {_NOT_BLOCKED} AND r.ret_d{n})",
                needs_retention=True,
            )
        )
    return {atom.name: atom for atom in atoms}


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
    for n in COHORT_DAYS:
        m.append(
            Metric(
                f"roas_d{n}",
                _ratio(f"s_revenue_d{n}", "s_cost"),
                (f"s_revenue_d{n}", "s_cost"),
                "ratio",
                f"Cohort revenue within {n + 1} x 24 h of install (day {n} included) / cost.",
            )
        )
    for n in RETENTION_DAYS:
        m.append(
            Metric(
                f"retention_d{n}",
                _ratio(f"n_retained_d{n}", "n_installs"),
                (f"n_retained_d{n}", "n_installs"),
                "percent",
                f"Share of installs with an open on day {n} after install ([{n} x 24 h, "
                f"{n + 1} x 24 h) after the install time); young cohorts are not excluded.",
            )
        )
    return {metric.name: metric for metric in m}


METRICS: dict[str, Metric] = _metrics()

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
    if unit == "day":
        return f"CAST(timezone('UTC', {column}) AS DATE)"
    return f"CAST(date_trunc('{unit}', timezone('UTC', {column})) AS DATE)"


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


def lookup_metric(name: str) -> Metric | None:
    """The catalogue's metric of that name (not `event:<name>`, which is built per request)."""
    return METRICS.get(name)


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
    dimensions = [
        {"name": d.name, "description": d.description, "in_costs": str(d.cost is not None).lower()}
        for d in DIMENSIONS.values()
    ]
    return {"metrics": metrics, "dimensions": dimensions}
