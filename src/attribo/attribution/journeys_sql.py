"""Journeys for multi-touch models, read from the stored events of one app.

A converting journey is an install with the clicks and impressions of the same advertising id
that arrived before it within the click window (7 days), in time order; its value is the
revenue its device's in-app events inherited from that install. A null journey is an
advertising id with touches in the period and no install.
"""

from __future__ import annotations

from attribo.attribution.multitouch import Journeys, UserJourney
from attribo.attribution.settings import DAY_MS
from attribo.store.base import Store

_SQL = """
WITH inst AS (
  SELECT event_id, epoch_ms(event_time) AS t, seq,
         CASE platform WHEN 'ios' THEN idfa WHEN 'android' THEN gaid END AS adid
  FROM events WHERE app_id = ? AND type = 'install' {period}
),
tch AS (
  SELECT epoch_ms(event_time) AS t, seq, coalesce(idfa, gaid) AS adid,
         {channel} AS channel
  FROM events WHERE app_id = ? AND type IN ('click', 'impression')
    AND coalesce(idfa, gaid) IS NOT NULL
),
rev AS (
  SELECT install_event_id, sum(revenue) AS value FROM events
  WHERE app_id = ? AND type = 'event' AND revenue IS NOT NULL AND install_event_id IS NOT NULL
  GROUP BY install_event_id
),
conv AS (
  SELECT i.event_id, any_value(i.t) AS t,
         list(c.channel ORDER BY c.t, c.seq) AS channels, list(c.t ORDER BY c.t, c.seq) AS times
  FROM inst i JOIN tch c ON c.adid = i.adid AND c.seq < i.seq AND c.t <= i.t
       AND i.t - c.t <= {window}
  GROUP BY i.event_id
)
SELECT conv.channels, conv.times, conv.t, coalesce(rev.value, 0.0) AS value
FROM conv LEFT JOIN rev ON rev.install_event_id = conv.event_id
UNION ALL
SELECT list(channel ORDER BY t, seq), list(t ORDER BY t, seq), NULL, 0.0
FROM tch WHERE adid NOT IN (SELECT adid FROM inst WHERE adid IS NOT NULL) {touch_period}
GROUP BY adid
"""


def load_journeys(
    store: Store,
    app_id: str,
    since_ms: int | None = None,
    until_ms: int | None = None,
    split_types: bool = False,
) -> Journeys:
    """Journeys of installs (by install time) and of touches without install in the period.

    Channels are networks, or `network:click` / `network:impression` with `split_types`.
    """
    period, touch_period, params = "", "", []
    if since_ms is not None:
        period += " AND event_time >= make_timestamp(? * 1000)"
        touch_period += " AND t >= ?"
    if until_ms is not None:
        period += " AND event_time < make_timestamp(? * 1000)"
        touch_period += " AND t < ?"
    bounds: list[object] = [b for b in (since_ms, until_ms) if b is not None]
    params = [app_id, *bounds, app_id, app_id, *bounds]
    channel = "coalesce(network, 'unknown')" + (" || ':' || type" if split_types else "")
    sql = _SQL.format(period=period, touch_period=touch_period, window=7 * DAY_MS, channel=channel)
    rows = store.query(sql, params).to_pylist()
    journeys = [
        UserJourney(
            touches=list(zip(row["channels"], row["times"], strict=True)),
            conversion_time_ms=row["t"],
            value=float(row["value"]),
        )
        for row in rows
    ]
    return Journeys.from_user_journeys(journeys)
