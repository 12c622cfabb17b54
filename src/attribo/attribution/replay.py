"""Replay of rules v1 as set-based SQL over the stored events (DuckDB / ClickHouse-style SQL).

Mirrors `attribution.live` exactly: candidates are touches that arrived before the install
(`seq`), within the network's windows and the same horizon (from the watermark the install
recorded on arrival, so no running maximum is recomputed), after the previous install of a
re-installing device (within the re-attribution window); the strongest match type wins, then
clicks, then the latest touch, then the smallest event id. Each match type is an equi-join
(no OR-joins), so DuckDB hash-joins them and ranks with one window function.
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


def _windows_table(settings: AttributionSettings) -> str:
    """Per-network windows as a VALUES list (the default row has network NULL)."""
    rows = [(None, settings.windows), *sorted(settings.networks.items())]
    values = ", ".join(
        f"({'NULL' if name is None else _quote(name)}, {w.click_ms}, {w.view_ms}, "
        f"{w.fingerprint_ms})"
        for name, w in rows
    )
    return f"SELECT * FROM (VALUES {values}) w(network, click_ms, view_ms, fp_ms)"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def replay_sql(settings: AttributionSettings, app_filter: bool) -> str:
    """The replay query; `?` is the app id when `app_filter`."""
    horizon = settings.max_lookback_ms + LATENESS_MS
    where_app = "AND app_id = ?" if app_filter else ""
    return f"""
WITH ev AS (
  SELECT app_id, event_id, type, epoch_ms(event_time) AS t, seq, platform, idfa, gaid, idfv,
         android_id, ip, os_version, click_id, network, campaign, adset, ad, site_id,
         coalesce(watermark, epoch_ms(event_time)) AS wm
  FROM events WHERE type IN ('click', 'impression', 'install') {where_app}
),
win AS ({_windows_table(settings)}),
tch AS (
  SELECT ev.*, coalesce(n.click_ms, d.click_ms) AS click_ms,
         coalesce(n.view_ms, d.view_ms) AS view_ms, coalesce(n.fp_ms, d.fp_ms) AS fp_ms
  FROM ev
  LEFT JOIN win n ON n.network = ev.network
  CROSS JOIN (SELECT * FROM win WHERE network IS NULL) d
  WHERE ev.type IN ('click', 'impression')
),
keyed AS (
  SELECT *,
    CASE platform WHEN 'ios' THEN coalesce(idfa, idfv)
                  WHEN 'android' THEN coalesce(gaid, android_id)
                  ELSE coalesce(idfa, gaid, idfv, android_id) END AS dkey
  FROM ev WHERE type = 'install'
),
inst AS (
  SELECT *,
    CASE platform WHEN 'ios' THEN idfa WHEN 'android' THEN gaid END AS adid,
    wm - {horizon} AS floor_t,
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
  SELECT i.app_id, i.event_id AS install_id, 1 AS mrank, c.*, i.t - c.t AS ctit
  FROM inst2 i JOIN tch c ON c.app_id = i.app_id AND c.click_id = i.click_id
  WHERE c.type = 'click' AND i.t - c.t BETWEEN 0 AND c.click_ms
    AND c.seq < i.seq AND c.t >= i.floor_t AND (i.after_t IS NULL OR c.t > i.after_t)
  UNION ALL
  SELECT i.app_id, i.event_id, 2, c.*, i.t - c.t
  FROM inst2 i JOIN tch c ON c.app_id = i.app_id AND c.idfa = i.adid
  WHERE i.platform = 'ios'
    AND i.t - c.t BETWEEN 0 AND CASE c.type WHEN 'click' THEN c.click_ms ELSE c.view_ms END
    AND c.seq < i.seq AND c.t >= i.floor_t AND (i.after_t IS NULL OR c.t > i.after_t)
  UNION ALL
  SELECT i.app_id, i.event_id, 2, c.*, i.t - c.t
  FROM inst2 i JOIN tch c ON c.app_id = i.app_id AND c.gaid = i.adid
  WHERE i.platform = 'android'
    AND i.t - c.t BETWEEN 0 AND CASE c.type WHEN 'click' THEN c.click_ms ELSE c.view_ms END
    AND c.seq < i.seq AND c.t >= i.floor_t AND (i.after_t IS NULL OR c.t > i.after_t)
  UNION ALL
  SELECT i.app_id, i.event_id, 3, c.*, i.t - c.t
  FROM inst2 i JOIN tch c ON c.app_id = i.app_id AND c.ip = i.ip
       AND c.platform = i.platform AND c.os_version = i.os_version
  WHERE c.type = 'click' AND i.t - c.t BETWEEN 0 AND least(c.click_ms, c.fp_ms)
    AND c.seq < i.seq AND c.t >= i.floor_t AND (i.after_t IS NULL OR c.t > i.after_t)
),
best AS (
  SELECT * FROM cand
  QUALIFY row_number() OVER (
    PARTITION BY app_id, install_id
    ORDER BY mrank, (type = 'click') DESC, t DESC, event_id) = 1
)
SELECT i.app_id, i.event_id AS install_event_id,
       CASE WHEN b.event_id IS NULL THEN 'organic' ELSE 'attributed' END AS status,
       b.network, b.campaign, b.adset, b.ad, b.site_id,
       CASE b.mrank WHEN 1 THEN 'click_id' WHEN 2 THEN 'device' WHEN 3 THEN 'fingerprint' END
         AS match,
       b.event_id AS touch_event_id, b.type AS touch_type, b.ctit AS ctit_ms, i.reinstall
FROM inst2 i LEFT JOIN best b ON b.app_id = i.app_id AND b.install_id = i.event_id
ORDER BY i.app_id, i.seq
"""


def replay_attribution(
    store: Store, settings: AttributionSettings, app_id: str | None = None
) -> pa.Table:
    """Attribute every stored install (of one app, or all) from scratch; one row per install."""
    params: list[object] = [app_id] if app_id is not None else []
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
