"""Replay of rules v1 in ClickHouse SQL, for the cluster profile's store.

The same rules as `attribution.replay` (which is DuckDB SQL shaped for speed on one machine),
written as one query, since ClickHouse has no row ids and a query's temp tables need a
session: touches are named by event id, the winner per install is `argMin` over
(rank, event id), and `FINAL` collapses copies a racing writer left. Ranks pack the match
kind and age exactly as there, so both replays give the same rows (tested on chDB).
Fingerprints are looked up for every install here: a fingerprint's rank is above any stronger
match's, so it only wins alone, and skipping installs already matched (as the DuckDB script
does for speed) would evaluate the stronger joins twice, CTEs being inlined.
"""

from __future__ import annotations

from attribo.attribution.replay import (
    KIND_CLICK_ID,
    KIND_DEVICE_CLICK,
    KIND_DEVICE_VIEW,
    KIND_FINGERPRINT,
    window_case,
)
from attribo.attribution.rules import LATENESS_MS
from attribo.attribution.settings import AttributionSettings
from attribo.store.clickhouse_sql import literal

_MS = "toUnixTimestamp64Milli(event_time)"


def replay_query_clickhouse(settings: AttributionSettings, app_id: str | None) -> str:
    """The whole replay as one ClickHouse query; one row per install, arrival order."""
    where_app = f"AND app_id = {literal(app_id)}" if app_id is not None else ""
    span = settings.max_lookback_ms + 1
    horizon = settings.max_lookback_ms + LATENESS_MS
    click = window_case(settings, "click_ms", literal)
    view = window_case(settings, "view_ms", literal)
    fingerprint = f"least({click}, {window_case(settings, 'fingerprint_ms', literal)})"
    eligible = (
        "c.app_id = i.app_id AND c.seq < i.seq AND c.t >= i.floor_t"
        " AND (i.after_t IS NULL OR c.t > i.after_t) AND i.t - c.t BETWEEN 0 AND"
    )
    clicks_within = "if(c.is_click AND NOT c.blocked, {}, -1)"
    device_within = f"multiIf(c.blocked, -1, c.is_click, {click}, {view})"
    device_rank = f"if(c.is_click, {KIND_DEVICE_CLICK * span}, {KIND_DEVICE_VIEW * span})"

    def touches(key: str) -> str:
        return f"(SELECT * FROM touches WHERE {key} IS NOT NULL)"

    device = " UNION ALL ".join(
        f"""
  SELECT i.app_id AS app_id, i.event_id AS iid, {device_rank} + i.t - c.t AS rank, c.tid AS tid
  FROM inst i JOIN {touches(ad_id)} c ON c.{ad_id} = i.adid
  WHERE i.platform = '{platform}' AND {eligible} {device_within}"""
        for platform, ad_id in (("ios", "idfa"), ("android", "gaid"))
    )
    return f"""
WITH
keyed AS (
  SELECT app_id, event_id, {_MS} AS t, seq, platform, click_id, ip, os_version,
    coalesce(attribution = 'blocked', false) AS blocked,
    multiIf(platform = 'ios', idfa, platform = 'android', gaid, NULL) AS adid,
    coalesce(watermark, {_MS}) - {horizon} AS floor_t,
    multiIf(platform = 'ios', coalesce(idfa, idfv), platform = 'android',
            coalesce(gaid, android_id), coalesce(idfa, gaid, idfv, android_id)) AS dkey
  FROM events FINAL WHERE type = 'install' {where_app}
),
ordered AS (
  SELECT *, row_number() OVER w AS nth, lagInFrame(t, 1) OVER w AS before_t
  FROM keyed
  WINDOW w AS (PARTITION BY app_id, dkey ORDER BY seq
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
inst AS (
  SELECT app_id, event_id, t, seq, platform, click_id, ip, os_version, blocked, adid, floor_t,
    dkey IS NOT NULL AND nth > 1 AS again,
    if(again AND t - before_t <= {settings.reattribution_ms}, before_t, NULL) AS after_t
  FROM ordered
),
touches AS (
  SELECT app_id, event_id AS tid, type = 'click' AS is_click, {_MS} AS t, seq, click_id, idfa,
    gaid, ip, platform, os_version, network, campaign, adset, ad, site_id,
    coalesce(attribution = 'blocked', false) AS blocked
  FROM events FINAL WHERE type IN ('click', 'impression') {where_app}
),
strong AS (
  SELECT i.app_id AS app_id, i.event_id AS iid, {KIND_CLICK_ID * span} + i.t - c.t AS rank,
    c.tid AS tid
  FROM inst i JOIN {touches("click_id")} c ON c.click_id = i.click_id
  WHERE {eligible} {clicks_within.format(click)}
  UNION ALL {device}
),
weak AS (
  SELECT i.app_id AS app_id, i.event_id AS iid, {KIND_FINGERPRINT * span} + i.t - c.t AS rank,
    c.tid AS tid
  FROM inst i JOIN {touches("ip")} c ON c.ip = i.ip AND c.platform = i.platform
    AND c.os_version = i.os_version
  WHERE {eligible} {clicks_within.format(fingerprint)}
),
won AS (
  SELECT app_id, iid, min(rank) AS best, argMin(tid, (rank, tid)) AS winner
  FROM (SELECT * FROM strong UNION ALL SELECT * FROM weak) GROUP BY app_id, iid
)
SELECT i.app_id AS app_id, i.event_id AS install_event_id,
  multiIf(i.blocked, 'blocked', w.winner IS NULL, 'organic', 'attributed') AS status,
  d.network AS network, d.campaign AS campaign, d.adset AS adset, d.ad AS ad,
  d.site_id AS site_id,
  multiIf(w.best IS NULL, NULL, intDiv(w.best, {span}) = {KIND_CLICK_ID}, 'click_id',
          intDiv(w.best, {span}) = {KIND_FINGERPRINT}, 'fingerprint', 'device') AS `match`,
  w.winner AS touch_event_id,
  multiIf(w.best IS NULL, NULL, intDiv(w.best, {span}) = {KIND_DEVICE_VIEW}, 'impression', 'click')
    AS touch_type,
  w.best % {span} AS ctit_ms, toBool(i.again) AS reinstall
FROM inst i
LEFT JOIN won w ON w.app_id = i.app_id AND w.iid = i.event_id
LEFT JOIN touches d ON d.app_id = w.app_id AND d.tid = w.winner
ORDER BY i.app_id, i.seq, i.event_id
"""
