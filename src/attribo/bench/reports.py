"""`attribo bench reports`: the dashboard's standard queries over 10M and 50M stored events.

The data is generated in SQL straight into a DuckDB store, shaped like a quarter of an
app's traffic (per install about 8 clicks, 3 impressions, 6 opens decaying with age and 2
in-app events, some with revenue; 70 % attributed over 8 networks x 5 campaigns x 4 ad
sets x 3 ads and 40 sites each, 25 % organic, 5 % blocked; 20 countries; daily spend per
ad and country), written a day of installs at a time (with their touches and activity, in
time order, `seq` rising with each write as the pipeline stores them). The rollups are
then built by the same refresh the server runs, and each standard query is timed through
the report functions the HTTP handlers call (`run_aggregate`, `run_timeseries`,
`run_cohort`), on the store's default threads (all cores but one, as `attribo serve` runs).
The same queries over raw events only (`rollups=False`) are the baseline, timed in the
same run with fewer repetitions.
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from attribo.metrics import (
    AggregateRequest,
    CohortRequest,
    FunnelRequest,
    run_aggregate,
    run_cohort,
    run_funnel,
    run_timeseries,
)
from attribo.sim.bench import peak_rss_mb
from attribo.store.costs import create_costs_table
from attribo.store.duckdb import DuckDBStore

APP = "bench"
START = date(2026, 8, 1)
SPAN_DAYS = 90
EVENTS_PER_INSTALL = 20  # 1 install + 8 clicks + 3 impressions + 6 opens + 2 events
DAY_MS = 86_400_000
T0_MS = int(datetime.combine(START, datetime.min.time(), UTC).timestamp() * 1000)

# Install rows: attribution and dimensions drawn from hashes of the install number.
_INSTALLS = f"""
CREATE TEMP TABLE gen_installs AS
SELECT i, 'i' || i AS event_id,
       {T0_MS} + (i * {SPAN_DAYS * DAY_MS} // {{installs}})::BIGINT
           + (hash(i, 1) % 600000)::BIGINT AS t,
       CASE WHEN hash(i, 2) % 100 < 70 THEN 'attributed'
            WHEN hash(i, 2) % 100 < 95 THEN 'organic' ELSE 'blocked' END AS attribution,
       'net' || (hash(i, 3) % 8) AS network,
       (hash(i, 4) % 5)::INT AS c, (hash(i, 5) % 4)::INT AS s, (hash(i, 6) % 3)::INT AS a,
       (hash(i, 7) % 40)::INT AS site,
       ['US','US','US','IN','IN','BR','DE','GB','FR','JP','KR','ID','MX','TR','VN','PH',
        'CA','AU','IT','ES'][1 + (hash(i, 8) % 20)::INT] AS country,
       CASE WHEN hash(i, 9) % 10 < 4 THEN 'ios' ELSE 'android' END AS platform
FROM range({{low}}, {{high}}) r(i)
"""

_ROWS = f"""
CREATE TEMP TABLE gen_rows AS
SELECT event_id, 'install' AS type, t, i, attribution, network, c, s, a, site, country,
       platform, NULL::VARCHAR AS name, NULL::DOUBLE AS revenue, NULL::VARCHAR AS iid
FROM gen_installs
UNION ALL
SELECT 'c' || i || '-' || k, CASE WHEN k < 8 THEN 'click' ELSE 'impression' END,
       t - (hash(i, k, 10) % {6 * DAY_MS})::BIGINT, i, attribution,
       CASE WHEN k % 3 = 2 THEN 'net' || (hash(i, k, 11) % 8) ELSE network END,
       c, s, a, site, country, platform, NULL, NULL, NULL
FROM gen_installs, range(11) k(k)
UNION ALL
SELECT 'o' || i || '-' || k, 'open',
       t + (-ln(1 - (hash(i, k, 12) % 1000000) / 1000000.0) * {5 * DAY_MS})::BIGINT, i,
       attribution, network, c, s, a, site, country, platform, NULL, NULL, event_id
FROM gen_installs, range(6) k(k)
UNION ALL
SELECT 'e' || i || '-' || k, 'event',
       t + (-ln(1 - (hash(i, k, 13) % 1000000) / 1000000.0) * {8 * DAY_MS})::BIGINT, i,
       attribution, network, c, s, a, site, country, platform,
       ['tutorial_complete', 'level_up', 'level_up', 'purchase'][1 + (hash(i, k, 14) % 4)::INT],
       CASE WHEN hash(i, k, 15) % 100 < 5 THEN 0.99 + (hash(i, k, 16) % 5000) / 100.0 END,
       event_id
FROM gen_installs, range(2) k(k)
"""

_STORE = """
INSERT INTO events (app_id, event_id, type, event_time, received_at, platform, country,
                    network, campaign, adset, ad, site_id, name, revenue, currency, signed,
                    seq, attribution, attributed_network, attributed_campaign,
                    attributed_adset, attributed_ad, attributed_site_id, install_event_id)
SELECT 'bench', event_id, type, make_timestamp(t * 1000), make_timestamp(t * 1000), platform,
       country,
       CASE WHEN type IN ('click', 'impression') THEN network END,
       CASE WHEN type IN ('click', 'impression') THEN network || '_c' || c END,
       CASE WHEN type IN ('click', 'impression') THEN network || '_c' || c || '_s' || s END,
       CASE WHEN type IN ('click', 'impression') THEN network || '_c' || c || '_s' || s
            || '_a' || a END,
       CASE WHEN type IN ('click', 'impression') THEN network || '_site' || site END,
       name, revenue, CASE WHEN revenue IS NOT NULL THEN 'USD' END, false,
       {chunk} * 1000000000000 + row_number() OVER (ORDER BY t, event_id),
       CASE WHEN type = 'install' THEN attribution END,
       CASE WHEN type = 'install' AND attribution <> 'organic' THEN network END,
       CASE WHEN type = 'install' AND attribution <> 'organic' THEN network || '_c' || c END,
       CASE WHEN type = 'install' AND attribution <> 'organic'
            THEN network || '_c' || c || '_s' || s END,
       CASE WHEN type = 'install' AND attribution <> 'organic'
            THEN network || '_c' || c || '_s' || s || '_a' || a END,
       CASE WHEN type = 'install' AND attribution <> 'organic' THEN network || '_site' || site END,
       iid
FROM gen_rows ORDER BY t, event_id
"""

_COSTS = f"""
INSERT INTO costs
SELECT DATE '{START.isoformat()}' + d::INT, 'bench', 'net' || n, 'net' || n || '_c' || c,
       'net' || n || '_c' || c || '_s' || s, 'net' || n || '_c' || c || '_s' || s || '_a' || a,
       country, spend, 'USD', spend, (spend * 300)::BIGINT, (spend * 3)::BIGINT
FROM (SELECT d, n, c, s, a, country,
             round((hash(d, n, c, s, a, country) % 10000) / 100.0 * {{scale}}, 2) AS spend
      FROM range({SPAN_DAYS}) d(d), range(8) n(n), range(5) c(c), range(4) s(s), range(3) a(a),
           (SELECT unnest(['US','IN','BR','DE','GB','FR','JP','KR','ID','MX']) AS country))
"""


def build_store(path: Path, events: int) -> tuple[DuckDBStore, dict[str, Any]]:
    """A store with about `events` events of one app, rollups built; timings of each step."""
    installs = max(1, events // EVENTS_PER_INSTALL)
    store = DuckDBStore(path)
    conn = store.side_cursor()
    started = time.perf_counter()
    chunks = min(SPAN_DAYS, installs)
    for chunk in range(chunks):  # a day of installs with their touches and activity at a time
        low, high = installs * chunk // chunks, installs * (chunk + 1) // chunks
        conn.execute(_INSTALLS.format(installs=installs, low=low, high=high))
        conn.execute(_ROWS)
        conn.execute(_STORE.format(chunk=chunk))
        conn.execute("DROP TABLE gen_rows")
        conn.execute("DROP TABLE gen_installs")
    create_costs_table(conn)
    conn.execute(_COSTS.format(scale=installs / 250_000))
    conn.execute("CHECKPOINT")
    loaded = time.perf_counter()
    store.refresh_rollups()
    built = time.perf_counter()
    stored = store.count_events(APP)
    return store, {
        "events": stored,
        "installs": installs,
        "load_s": round(loaded - started, 1),
        "rollup_build_s": round(built - loaded, 1),
    }


def standard_queries(last: date) -> dict[str, Callable[[DuckDBStore, bool], Any]]:
    """The dashboard's standard queries over the 30 days up to `last`."""
    first = last - timedelta(days=29)
    as_of = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC)

    def req(metrics: tuple[str, ...], dims: tuple[str, ...] = (), **extra: Any) -> AggregateRequest:
        return AggregateRequest(
            app_id=APP,
            metrics=metrics,
            dimensions=dims,
            date_from=first,
            date_to=last,
            as_of=as_of,
            limit=10_000,
            **extra,
        )

    kpis = req(("installs", "cost", "cpi", "revenue", "roas", "retention_d1", "blocked_installs"))
    previous = replace(kpis, date_from=first - timedelta(days=30), date_to=first - timedelta(1))
    campaigns = req(
        (
            "clicks",
            "impressions",
            "ctr",
            "installs",
            "conversion_rate",
            "cost",
            "cpi",
            "revenue",
            "roas_d7",
            "retention_d1",
            "blocked_installs",
        ),
        ("network", "campaign", "adset", "ad"),
        sort="-installs",
    )
    countries = req(("installs", "revenue", "arpu"), ("country",), filters={"network": ("net1",)})
    fraud = req(("installs", "blocked_installs", "fraud_rate", "blocked_spend"), ("network",))
    cohort_base = req(("installs",))
    series = req(("installs", "cost", "roas"), ("network",))
    retention = CohortRequest(cohort_base, "retention", tuple(range(31)))
    roas = CohortRequest(cohort_base, "roas")
    return {
        "overview_kpis": lambda s, r: run_aggregate(s, kpis, r),
        "overview_previous_period": lambda s, r: run_aggregate(s, previous, r),
        "overview_timeseries": lambda s, r: run_timeseries(s, series, rollups=r),
        "campaigns_table": lambda s, r: run_aggregate(s, campaigns, r),
        "countries_filtered": lambda s, r: run_aggregate(s, countries, r),
        "cohort_retention": lambda s, r: run_cohort(s, retention, r),
        "cohort_roas": lambda s, r: run_cohort(s, roas, r),
        "fraud_by_network": lambda s, r: run_aggregate(s, fraud, r),
    }


def _time(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _p(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 1)


def measure(store: DuckDBStore, repeat: int, raw_repeat: int) -> dict[str, Any]:
    """p50/p95 per standard query through the rollups, and over raw events as the baseline."""
    last = START + timedelta(days=SPAN_DAYS - 1)
    queries = standard_queries(last)
    per_query: dict[str, Any] = {}
    every: list[float] = []
    every_raw: list[float] = []
    for name, run in queries.items():
        run(store, True)  # warm: first touch of the columns
        times = _time(partial(run, store, True), repeat)
        raw = _time(partial(run, store, False), raw_repeat) if raw_repeat else []
        every += times
        every_raw += raw
        per_query[name] = {"p50_ms": _p(times, 0.5), "p95_ms": _p(times, 0.95)}
        if raw:
            per_query[name]["raw_p50_ms"] = _p(raw, 0.5)
    funnel = FunnelRequest(
        AggregateRequest(
            app_id=APP,
            metrics=("installs",),
            date_from=last - timedelta(days=29),
            date_to=last,
        ),
        ("install", "event:tutorial_complete", "event:purchase"),
    )
    funnel_times = _time(lambda: run_funnel(store, funnel), max(1, raw_repeat))
    result: dict[str, Any] = {
        "p50_ms": _p(every, 0.5),
        "p95_ms": _p(every, 0.95),
        "queries": per_query,
        "funnel_raw_p50_ms": _p(funnel_times, 0.5),
    }
    if every_raw:
        result["raw_p50_ms"] = _p(every_raw, 0.5)
        result["raw_p95_ms"] = _p(every_raw, 0.95)
        result["speedup_p50"] = round(statistics.median(every_raw) / statistics.median(every), 1)
    return result


def run_reports_bench(
    sizes: tuple[int, ...] = (10_000_000, 50_000_000), repeat: int = 20, raw_repeat: int = 3
) -> dict[str, Any]:
    """One JSON-able dict: per size, data build timings and query latencies."""
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="attribo-bench-reports-") as tmp:
        for size in sizes:
            path = Path(tmp) / f"events-{size}.duckdb"
            store, built = build_store(path, size)
            try:
                measured = measure(store, repeat, raw_repeat)
            finally:
                store.close()
                path.unlink(missing_ok=True)
            label = f"{size // 1_000_000}M" if size >= 1_000_000 else str(size)
            result[label] = {**built, **measured}
    largest = result[list(result)[-1]]
    return {
        "p50_ms": largest["p50_ms"],
        "p95_ms": largest["p95_ms"],
        "sizes": result,
        "peak_rss_mb": peak_rss_mb(),
    }
