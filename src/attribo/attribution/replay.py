"""Replay of rules v1 as set-based SQL over the stored events (DuckDB SQL).

Mirrors `attribution.live` exactly: candidates are touches that arrived before the install
(`seq`), within the network's windows and the same horizon (from the watermark the install
recorded on arrival, so no running maximum is recomputed), after the previous install of a
re-installing device (within the re-attribution window); the strongest match type wins, then
clicks, then the latest touch, then the smallest event id. Fraud verdicts are inputs, as live:
touches stored as `blocked` are never candidates, and a blocked install stays blocked.

Shaped for 1M installs against 10M clicks on two cores. The replay is a short script on one
cursor whose steps land in temp tables, so the planner knows real row counts: guessing from
filters, it took the installs for the bigger side and hashed 10M clicks instead of 1M installs.
Each match type is one equi-join over narrow rows (row ids, epoch milliseconds and the
127-bit match keys the store computed on insert, `store.match_keys`: no strings); a
candidate's rank packs match type, click-before-impression and age
into one integer; fingerprints are only looked up for installs no stronger match found; event
ids and campaign details are fetched by row id for the best-ranked touches only.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from attribo.attribution.rules import LATENESS_MS
from attribo.attribution.settings import AttributionSettings
from attribo.store.base import Store

REPLAY_COLUMNS = (
    "app_id",
    "install_event_id",
    "status",
    "network",
    "campaign",
    "adset",
    "ad",
    "site_id",
    "match",
    "touch_event_id",
    "touch_type",
    "ctit_ms",
    "reinstall",
)

# A candidate's rank is `kind * span + age`, smallest best, with `span` above any age; kinds
# in rule 3's order: click id, device click, device impression, fingerprint (clicks only).
KIND_CLICK_ID, KIND_DEVICE_CLICK, KIND_DEVICE_VIEW, KIND_FINGERPRINT = 0, 2, 3, 4
_EPOCH_MS = "epoch_us(event_time) // 1000"  # as epoch_ms(), at a quarter of the cost
# The winner is found in one aggregation over (rank, row id) packed into 128 bits: the
# minimum gives the best rank and its lowest row id, the maximum of (flipped rank, row id)
# the highest row id at that rank; they differ only on a tie. Row ids and ranks are
# non-negative BIGINTs, so each fits in its 64-bit half.
_RANK_FLIP = 2**62
_LOW_64 = 2**64 - 1


def window_case(
    settings: AttributionSettings, field: str, quote: Callable[[str], str] | None = None
) -> str:
    """A SQL CASE giving the window `field` of each touch's network (defaults inline).

    `quote` writes a network name as a string literal of the engine (DuckDB's by default).
    """
    quote = quote or sql_string
    default = getattr(settings.windows, field)
    if not settings.networks:
        return str(default)
    arms = " ".join(
        f"WHEN {quote(name)} THEN {getattr(w, field)}"
        for name, w in sorted(settings.networks.items())
    )
    return f"CASE c.network {arms} ELSE {default} END"


def sql_string(text: str) -> str:
    """A DuckDB string literal (quotes doubled; ClickHouse also reads backslashes as escapes)."""
    return "'" + text.replace("'", "''") + "'"


def _touches(columns: str, where_app: str, settings: AttributionSettings) -> str:
    """Clicks and impressions, narrow; blocked ones are flagged (and never match).

    Two scans with one equality filter each, like the installs' own: the planner's estimate
    for the touches stays above the installs', so the joins hash the installs.
    """
    network = ", network" if settings.networks else ""
    scans = (
        f"SELECT rowid AS rid, {kind == 'click'} AS is_click, {_EPOCH_MS} AS t, seq, app_id,"
        f" {columns}{network}, attribution IS NOT DISTINCT FROM 'blocked' AS blocked"
        f" FROM events WHERE type = '{kind}' {where_app}"
        for kind in ("click", "impression")
    )
    return "(" + " UNION ALL ".join(scans) + ")"


def _installs_step(settings: AttributionSettings, where_app: str) -> str:
    """The installs with their match keys, horizon and previous install (rule 5)."""
    horizon = settings.max_lookback_ms + LATENESS_MS
    return f"""
CREATE OR REPLACE TEMP TABLE replay_inst AS
WITH keyed AS (
  SELECT rowid AS iid, app_id, event_id, {_EPOCH_MS} AS t, seq, platform, click_key,
    fingerprint_key, coalesce(attribution = 'blocked', FALSE) AS blocked,
    CASE platform WHEN 'ios' THEN idfa_key WHEN 'android' THEN gaid_key END AS adid,
    coalesce(watermark, {_EPOCH_MS}) - {horizon} AS floor_t,
    CASE platform WHEN 'ios' THEN coalesce(idfa, idfv)
                  WHEN 'android' THEN coalesce(gaid, android_id)
                  ELSE coalesce(idfa, gaid, idfv, android_id) END AS dkey
  FROM events WHERE type = 'install' {where_app}
),
again AS (  -- devices seen more than once: only these need the ordered window
  SELECT iid, lag(t) OVER w AS prev_t, row_number() OVER w > 1 AS reinstall
  FROM keyed SEMI JOIN (
    SELECT app_id, dkey FROM keyed WHERE dkey IS NOT NULL GROUP BY ALL HAVING count(*) > 1
  ) USING (app_id, dkey)
  WINDOW w AS (PARTITION BY app_id, dkey ORDER BY seq)
),
inst AS (
  SELECT k.*, a.prev_t, coalesce(a.reinstall, FALSE) AS reinstall
  FROM keyed k LEFT JOIN again a USING (iid)
)
SELECT * EXCLUDE (dkey, prev_t),
  CASE WHEN prev_t IS NOT NULL AND t - prev_t <= {settings.reattribution_ms}
       THEN prev_t END AS after_t
FROM inst"""


def _candidate_steps(settings: AttributionSettings, where_app: str, same_app: str) -> str:
    """Every eligible (install, touch, rank): click id and device, then fingerprints."""
    click = window_case(settings, "click_ms")
    view = window_case(settings, "view_ms")
    fingerprint = f"least({click}, {window_case(settings, 'fingerprint_ms')})"
    span = settings.max_lookback_ms + 1
    # Blocked touches (and impressions, where only clicks count) get a window of -1.
    clicks_within = "CASE WHEN c.is_click AND NOT c.blocked THEN {} ELSE -1 END"
    device_within = f"CASE WHEN c.blocked THEN -1 WHEN c.is_click THEN {click} ELSE {view} END"
    device_rank = (
        f"CASE WHEN c.is_click THEN {KIND_DEVICE_CLICK * span} ELSE {KIND_DEVICE_VIEW * span} END"
    )
    eligible = (
        "c.seq < i.seq AND c.t >= i.floor_t AND (i.after_t IS NULL OR c.t > i.after_t)"
        f" {same_app} AND i.t - c.t BETWEEN 0 AND"
    )
    device = " UNION ALL ".join(
        f"""
  SELECT i.iid, {device_rank} + i.t - c.t, c.rid
  FROM {_touches(ad_key, where_app, settings)} c JOIN replay_inst i ON c.{ad_key} = i.adid
  WHERE i.platform = '{platform}' AND {eligible} {device_within}"""
        for platform, ad_key in (("ios", "idfa_key"), ("android", "gaid_key"))
    )
    return f"""
CREATE OR REPLACE TEMP TABLE replay_cand AS
  SELECT i.iid, {KIND_CLICK_ID * span} + i.t - c.t AS rank, c.rid
  FROM {_touches("click_key", where_app, settings)} c JOIN replay_inst i
    ON c.click_key = i.click_key
  WHERE {eligible} {clicks_within.format(click)}
  UNION ALL {device};
INSERT INTO replay_cand
  SELECT i.iid, {KIND_FINGERPRINT * span} + i.t - c.t, c.rid
  FROM {_touches("fingerprint_key", where_app, settings)} c
  JOIN (FROM replay_inst ANTI JOIN replay_cand USING (iid)) i
    ON c.fingerprint_key = i.fingerprint_key
  WHERE {eligible} {clicks_within.format(fingerprint)}"""


def _result_select(settings: AttributionSettings, order: str) -> str:
    """One row per install: its best-ranked touch (smallest event id on a tie), details."""
    span = settings.max_lookback_ms + 1
    return f"""
CREATE OR REPLACE TEMP TABLE replay_won AS
  WITH packed AS (  -- per install, in one pass: the best rank, its lowest and highest row id
    SELECT iid, min((rank::HUGEINT << 64) | rid) AS lo,
           max((({_RANK_FLIP} - rank)::HUGEINT << 64) | rid) AS hi
    FROM replay_cand GROUP BY iid
  ),
  best AS (
    SELECT iid, (lo >> 64)::BIGINT AS rank, (lo & {_LOW_64})::BIGINT AS rid,
           (hi & {_LOW_64})::BIGINT AS rid_hi
    FROM packed
  )
  SELECT iid, rank, rid FROM best WHERE rid = rid_hi
  UNION ALL  -- a tie on rank (rare): the smallest event id, read for the tied touches only
  SELECT c.iid, any_value(c.rank), arg_min(c.rid, e.event_id)
  FROM replay_cand c JOIN (FROM best WHERE rid <> rid_hi) t ON c.iid = t.iid AND c.rank = t.rank
  JOIN (SELECT rowid AS rid, event_id FROM events) e ON e.rid = c.rid
  GROUP BY c.iid;
WITH detail AS (
  SELECT w.iid, w.rank // {span} AS kind, w.rank % {span} AS ctit,
         e.event_id AS touch_event_id, e.network, e.campaign, e.adset, e.ad, e.site_id
  FROM (SELECT rowid AS rid, event_id, network, campaign, adset, ad, site_id FROM events) e
  JOIN replay_won w ON e.rid = w.rid
)
SELECT i.app_id, i.event_id AS install_event_id,
       CASE WHEN i.blocked THEN 'blocked'
            WHEN d.touch_event_id IS NULL THEN 'organic' ELSE 'attributed' END AS status,
       d.network, d.campaign, d.adset, d.ad, d.site_id,
       CASE d.kind WHEN {KIND_CLICK_ID} THEN 'click_id' WHEN {KIND_FINGERPRINT} THEN 'fingerprint'
                   WHEN {KIND_DEVICE_CLICK} THEN 'device' WHEN {KIND_DEVICE_VIEW} THEN 'device' END
         AS match,
       d.touch_event_id,
       CASE WHEN d.kind = {KIND_DEVICE_VIEW} THEN 'impression' WHEN d.kind IS NOT NULL THEN 'click'
       END AS touch_type,
       d.ctit AS ctit_ms, i.reinstall
FROM replay_inst i LEFT JOIN detail d ON d.iid = i.iid
ORDER BY {order}
"""


def replay_script(settings: AttributionSettings, app_id: str | None) -> str:
    """The replay as one SQL script (temp tables, then the result rows); no parameters."""
    where_app = f"AND app_id = {sql_string(app_id)}" if app_id is not None else ""
    same_app = "" if app_id is not None else "AND c.app_id = i.app_id"
    # Arrival order; integer sort keys (strings in the key cost a third of the step).
    order = "i.seq, i.iid" if app_id is not None else "i.app_id, i.seq, i.iid"
    return ";\n".join(
        (
            _installs_step(settings, where_app),
            _candidate_steps(settings, where_app, same_app),
            _result_select(settings, order),
        )
    )


def replay_attribution(
    store: Store, settings: AttributionSettings, app_id: str | None = None
) -> pa.Table:
    """Attribute every stored install (of one app, or all) from scratch; one row per install.

    A store whose `sql_dialect` is ClickHouse (the cluster profile) gets the same rules in its
    SQL (`replay_clickhouse`); every other store, the DuckDB script above.
    """
    if getattr(store, "sql_dialect", "duckdb") == "clickhouse":
        from attribo.attribution.replay_clickhouse import replay_query_clickhouse

        return store.query(replay_query_clickhouse(settings, app_id), [])
    return store.query(replay_script(settings, app_id), [])


_LIVE_SQL = """
SELECT app_id, event_id AS install_event_id, coalesce(attribution, 'organic') AS status,
       attributed_network AS network, match_type AS match, touch_event_id
FROM events WHERE type = 'install' {where}
"""


def rebuild_summary(
    store: Store, settings: AttributionSettings, app_id: str | None = None
) -> tuple[pa.Table, dict[str, object]]:
    """Replay with `settings` and compare with the decisions taken live.

    With the live settings every install must agree; with other windows the differences are
    the what-if (or the reconciliation with a network's own rules).
    """
    replayed = replay_attribution(store, settings, app_id)
    live_rows = store.query(
        _LIVE_SQL.format(where="AND app_id = ?" if app_id else ""), [app_id] if app_id else []
    ).to_pylist()
    live = {
        (r["app_id"], r["install_event_id"]): (
            r["status"],
            r["network"],
            r["match"],
            r["touch_event_id"],
        )
        for r in live_rows
    }
    changed = 0
    by_status: dict[str, int] = {}
    by_match: dict[str, int] = {}
    for row in replayed.to_pylist():
        key = (row["app_id"], row["install_event_id"])
        decided = (row["status"], row["network"], row["match"], row["touch_event_id"])
        changed += live.get(key) != decided
        by_status[row["status"]] = by_status.get(row["status"], 0) + 1
        if row["match"]:
            by_match[row["match"]] = by_match.get(row["match"], 0) + 1
    summary: dict[str, object] = {
        "installs": replayed.num_rows,
        "by_status": by_status,
        "by_match": by_match,
        "changed_vs_live": changed,
    }
    return replayed, summary
