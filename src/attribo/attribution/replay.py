"""Replay of rules v1 as set-based SQL over the stored events (DuckDB / ClickHouse-style SQL).

Mirrors `attribution.live` exactly: candidates are touches that arrived before the install
(`seq`), within the network's windows and the same horizon (from the watermark the install
recorded on arrival, so no running maximum is recomputed), after the previous install of a
re-installing device (within the re-attribution window); the strongest match type wins, then
clicks, then the latest touch, then the smallest event id. Each match type is an equi-join
(no OR-joins) over narrow rows; the winner per install is one `arg_min` aggregate, and only
the winners are joined back for their campaign details. Fraud verdicts are inputs, as live:
touches stored as `blocked` are never candidates, and a blocked install stays blocked.
"""

from __future__ import annotations

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


def _window_case(settings: AttributionSettings, field: str) -> str:
    """A SQL CASE giving the window `field` of each touch's network (defaults inline)."""
    default = getattr(settings.windows, field)
    if not settings.networks:
        return str(default)
    arms = " ".join(
        f"WHEN {_quote(name)} THEN {getattr(w, field)}"
        for name, w in sorted(settings.networks.items())
    )
    return f"CASE c.network {arms} ELSE {default} END"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def replay_sql(settings: AttributionSettings, app_filter: bool) -> str:
    """The replay query; each `?` is the app id when `app_filter`."""
    horizon = settings.max_lookback_ms + LATENESS_MS
    where_app = "AND app_id = ?" if app_filter else ""
    click = _window_case(settings, "click_ms")
    view = _window_case(settings, "view_ms")
    fingerprint = f"least({click}, {_window_case(settings, 'fingerprint_ms')})"
    common = "c.seq < i.seq AND c.t >= i.floor_t AND (i.after_t IS NULL OR c.t > i.after_t)"
    return f"""
WITH tch AS (
  SELECT app_id, event_id, type = 'click' AS is_click, epoch_ms(event_time) AS t, seq,
         click_id, idfa, gaid, ip, platform, os_version, network
  FROM events WHERE type IN ('click', 'impression') {where_app}
    AND coalesce(attribution, '') <> 'blocked'
),
keyed AS (
  SELECT app_id, event_id, epoch_ms(event_time) AS t, seq, platform, click_id, ip, os_version,
    coalesce(attribution = 'blocked', FALSE) AS blocked,
    CASE platform WHEN 'ios' THEN idfa WHEN 'android' THEN gaid END AS adid,
    coalesce(watermark, epoch_ms(event_time)) - {horizon} AS floor_t,
    CASE platform WHEN 'ios' THEN coalesce(idfa, idfv)
                  WHEN 'android' THEN coalesce(gaid, android_id)
                  ELSE coalesce(idfa, gaid, idfv, android_id) END AS dkey
  FROM events WHERE type = 'install' {where_app}
),
inst AS (
  SELECT *,
    CASE WHEN dkey IS NULL THEN NULL
         ELSE lag(t) OVER (PARTITION BY app_id, dkey ORDER BY seq) END AS prev_t,
    CASE WHEN dkey IS NULL THEN FALSE
         ELSE lag(seq) OVER (PARTITION BY app_id, dkey ORDER BY seq) IS NOT NULL END
      AS reinstall
  FROM keyed
),
inst2 AS (
  SELECT *, CASE WHEN prev_t IS NOT NULL AND t - prev_t <= {settings.reattribution_ms}
                 THEN prev_t END AS after_t
  FROM inst
),
cand AS (
  SELECT i.app_id, i.event_id AS install_id, 1 AS mrank, c.event_id, c.is_click, c.t,
         i.t - c.t AS ctit
  FROM inst2 i JOIN tch c ON c.app_id = i.app_id AND c.click_id = i.click_id
  WHERE c.is_click AND i.t - c.t BETWEEN 0 AND {click} AND {common}
  UNION ALL
  SELECT i.app_id, i.event_id, 2, c.event_id, c.is_click, c.t, i.t - c.t
  FROM inst2 i JOIN tch c ON c.app_id = i.app_id AND c.idfa = i.adid
  WHERE i.platform = 'ios'
    AND i.t - c.t BETWEEN 0 AND CASE WHEN c.is_click THEN {click} ELSE {view} END
    AND {common}
  UNION ALL
  SELECT i.app_id, i.event_id, 2, c.event_id, c.is_click, c.t, i.t - c.t
  FROM inst2 i JOIN tch c ON c.app_id = i.app_id AND c.gaid = i.adid
  WHERE i.platform = 'android'
    AND i.t - c.t BETWEEN 0 AND CASE WHEN c.is_click THEN {click} ELSE {view} END
    AND {common}
  UNION ALL
  SELECT i.app_id, i.event_id, 3, c.event_id, c.is_click, c.t, i.t - c.t
  FROM inst2 i JOIN tch c ON c.app_id = i.app_id AND c.ip = i.ip
       AND c.platform = i.platform AND c.os_version = i.os_version
  WHERE c.is_click AND i.t - c.t BETWEEN 0 AND {fingerprint} AND {common}
),
best AS (
  SELECT app_id, install_id,
         arg_min(struct_pack(mrank, event_id, is_click, ctit),
                 struct_pack(mrank, not_click := NOT is_click, neg_t := -t, event_id)) AS w
  FROM cand GROUP BY app_id, install_id
),
won AS (
  SELECT b.app_id, b.install_id, b.w.mrank AS mrank, b.w.event_id AS touch_event_id,
         b.w.is_click AS is_click, b.w.ctit AS ctit
  FROM best b
),
detail AS (
  SELECT w.*, e.network, e.campaign, e.adset, e.ad, e.site_id
  FROM won w JOIN events e ON e.app_id = w.app_id AND e.event_id = w.touch_event_id
  WHERE e.type IN ('click', 'impression')
)
SELECT i.app_id, i.event_id AS install_event_id,
       CASE WHEN i.blocked THEN 'blocked'
            WHEN d.touch_event_id IS NULL THEN 'organic' ELSE 'attributed' END AS status,
       d.network, d.campaign, d.adset, d.ad, d.site_id,
       CASE d.mrank WHEN 1 THEN 'click_id' WHEN 2 THEN 'device' WHEN 3 THEN 'fingerprint' END
         AS match,
       d.touch_event_id,
       CASE WHEN d.is_click THEN 'click' WHEN NOT d.is_click THEN 'impression' END
         AS touch_type,
       d.ctit AS ctit_ms, i.reinstall
FROM inst2 i LEFT JOIN detail d ON d.app_id = i.app_id AND d.install_id = i.event_id
ORDER BY i.app_id, i.seq
"""


def replay_attribution(
    store: Store, settings: AttributionSettings, app_id: str | None = None
) -> pa.Table:
    """Attribute every stored install (of one app, or all) from scratch; one row per install."""
    params: list[object] = [app_id, app_id] if app_id is not None else []
    return store.query(replay_sql(settings, app_id is not None), params)


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
