"""Report rollups kept in the DuckDB file, brought up to date from the events as they arrive.

- `rollup_touches`: clicks and impressions counted by app, UTC day, type and every touch
  dimension. Each refresh appends the counts of its new touches; queries sum them, and the
  table is compacted (re-grouped) once it has grown enough.
- `rollup_installs`: one row per install with the columns reports read (same names as in
  `events`) and its activity folded in: revenue and opens in total and within each of days
  0..30 (cumulative), the age of the first payment, a bitmask of the days 0..63 with an
  open, the count of opens and events.

A refresh reads the events whose `seq` is above the watermark, in one transaction, so the
rollups always equal a query over the events of some snapshot. Events arrive in `seq` order
(one writer, log order); if the stored row count shows that a row came in below the
watermark anyway, or the layout version changed, the rollups are rebuilt from scratch.
Anything that rewrites stored events (an attribution rebuild, a fraud relabel) must call
`reset_rollups` so the next refresh rebuilds them.
"""

from __future__ import annotations

import duckdb

DAY_MS = 86_400_000
MAX_DAY = 30  # cumulative revenue and opens per day for days 0..MAX_DAY
VERSION = 1
COMPACT_AFTER = 200_000  # touch rows appended since the last compaction

_DIMS = "platform, network, campaign, adset, ad, site_id, country"
_INSTALL_COLUMNS = (
    "platform, country, attribution, attributed_network, attributed_campaign,"
    " attributed_adset, attributed_ad, attributed_site_id"
)
_DAY_COLUMNS = [f"rev_c{n} DOUBLE NOT NULL DEFAULT 0" for n in range(MAX_DAY + 1)] + [
    f"sess_c{n} BIGINT NOT NULL DEFAULT 0" for n in range(MAX_DAY + 1)
]
_DDL = [
    "CREATE TABLE IF NOT EXISTS rollup_state (id INTEGER PRIMARY KEY, version INTEGER,"
    " watermark BIGINT, rows_seen BIGINT, touch_rows_since_compaction BIGINT)",
    "CREATE TABLE IF NOT EXISTS rollup_touches (app_id VARCHAR, event_time TIMESTAMPTZ,"
    " type VARCHAR, platform VARCHAR, network VARCHAR, campaign VARCHAR, adset VARCHAR,"
    " ad VARCHAR, site_id VARCHAR, country VARCHAR, n BIGINT)",
    "CREATE TABLE IF NOT EXISTS rollup_installs (app_id VARCHAR, event_id VARCHAR,"
    " event_time TIMESTAMPTZ, platform VARCHAR, country VARCHAR, attribution VARCHAR,"
    " attributed_network VARCHAR, attributed_campaign VARCHAR, attributed_adset VARCHAR,"
    " attributed_ad VARCHAR, attributed_site_id VARCHAR,"
    " n_activity BIGINT NOT NULL DEFAULT 0, revenue DOUBLE, sessions BIGINT NOT NULL DEFAULT 0,"
    " first_pay_ms BIGINT, open_days UBIGINT NOT NULL DEFAULT 0, " + ", ".join(_DAY_COLUMNS) + ")",
]
_TABLES = ("rollup_state", "rollup_touches", "rollup_installs")


def reset_rollups(conn: duckdb.DuckDBPyConnection) -> None:
    """Drop the rollups; the next refresh rebuilds them from every stored event."""
    for table in _TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}")


def _activity_update(watermark: int) -> str:
    age = "(epoch_ms(d.event_time) - epoch_ms(r.event_time))"
    opened = "d.type = 'open'"
    sums = [
        f"sum(d.revenue) FILTER (WHERE {age} < {(n + 1) * DAY_MS}) AS rev_c{n}"
        for n in range(MAX_DAY + 1)
    ] + [
        f"count(*) FILTER (WHERE {opened} AND {age} < {(n + 1) * DAY_MS}) AS sess_c{n}"
        for n in range(MAX_DAY + 1)
    ]
    sets = [f"rev_c{n} = r.rev_c{n} + coalesce(u.rev_c{n}, 0)" for n in range(MAX_DAY + 1)] + [
        f"sess_c{n} = r.sess_c{n} + u.sess_c{n}" for n in range(MAX_DAY + 1)
    ]
    return (
        "UPDATE rollup_installs r SET n_activity = r.n_activity + u.n_activity,"
        " revenue = CASE WHEN u.revenue IS NULL THEN r.revenue"
        " ELSE coalesce(r.revenue, 0) + u.revenue END,"
        " sessions = r.sessions + u.sessions,"
        " first_pay_ms = CASE WHEN r.first_pay_ms IS NULL THEN u.first_pay_ms"
        " WHEN u.first_pay_ms IS NULL THEN r.first_pay_ms"
        " ELSE least(r.first_pay_ms, u.first_pay_ms) END,"
        " open_days = r.open_days | u.open_days, " + ", ".join(sets) + " FROM ("
        " SELECT d.app_id, d.install_event_id, count(*) AS n_activity,"
        " sum(d.revenue) AS revenue, count(*) FILTER (WHERE " + opened + ") AS sessions,"
        f" min({age}) FILTER (WHERE d.revenue > 0) AS first_pay_ms,"
        f" bit_or(CASE WHEN {opened} AND {age} >= 0 AND {age} < {64 * DAY_MS}"
        f" THEN (1::UBIGINT << ({age} // {DAY_MS})::UTINYINT) ELSE 0::UBIGINT END) AS open_days,"
        + ", ".join(sums)
        + " FROM events d JOIN rollup_installs r"
        " ON r.app_id = d.app_id AND r.event_id = d.install_event_id"
        f" WHERE d.seq > {watermark} AND d.type IN ('open', 'event')"
        " GROUP BY d.app_id, d.install_event_id"
        ") u WHERE r.app_id = u.app_id AND r.event_id = u.install_event_id"
    )


def _compact_touches(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(
        "CREATE OR REPLACE TABLE rollup_touches AS SELECT app_id, event_time, type, "
        f"{_DIMS}, sum(n)::BIGINT AS n FROM rollup_touches"
        f" GROUP BY app_id, event_time, type, {_DIMS} ORDER BY app_id, event_time"
    )


def refresh_rollups(conn: duckdb.DuckDBPyConnection) -> None:
    """Bring the rollups up to the stored events (rebuilding them when they cannot be)."""
    conn.execute("BEGIN TRANSACTION")
    try:
        _refresh(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _refresh(conn: duckdb.DuckDBPyConnection) -> None:
    for ddl in _DDL:
        conn.execute(ddl)
    state = conn.execute(
        "SELECT version, watermark, rows_seen, touch_rows_since_compaction FROM rollup_state"
    ).fetchone()
    total = _one(conn, "SELECT count(*) FROM events")
    if state is not None and state[0] == VERSION and state[2] == total:
        return  # nothing new
    watermark, seen, since_compaction = (-1, 0, 0) if state is None else state[1:]
    fresh = (
        0
        if state is None or state[0] != VERSION
        else _one(conn, f"SELECT count(*) FROM events WHERE seq > {int(watermark)}")
    )
    if state is None or state[0] != VERSION or seen + fresh != total:
        for table in ("rollup_touches", "rollup_installs"):
            conn.execute(f"DELETE FROM {table}")
        watermark, seen, since_compaction = -1, 0, 0
    watermark = int(watermark)
    top = _one(conn, f"SELECT coalesce(max(seq), {watermark}) FROM events WHERE seq > {watermark}")
    appended = _one(
        conn,
        "INSERT INTO rollup_touches SELECT app_id, date_trunc('day', event_time), type, "
        f"{_DIMS}, count(*) FROM events WHERE seq > {watermark}"
        f" AND type IN ('click', 'impression') GROUP BY app_id, 2, type, {_DIMS}",
    )
    conn.execute(
        f"INSERT INTO rollup_installs (app_id, event_id, event_time, {_INSTALL_COLUMNS})"
        f" SELECT app_id, event_id, event_time, {_INSTALL_COLUMNS} FROM events"
        f" WHERE seq > {watermark} AND type = 'install' ORDER BY event_time"
    )
    conn.execute(_activity_update(watermark))
    since_compaction += appended
    if since_compaction > COMPACT_AFTER:
        _compact_touches(conn)
        since_compaction = 0
    conn.execute("DELETE FROM rollup_state")
    conn.execute(
        "INSERT INTO rollup_state VALUES (1, ?, ?, ?, ?)", [VERSION, top, total, since_compaction]
    )


def _one(conn: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = conn.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
