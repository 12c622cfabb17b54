"""Report rollups kept in the DuckDB file, brought up to date from the events as they arrive.

Cubes (see `rollup_layout`): for touches, counts by app, UTC day, type and the cube's
dimensions; for installs, by app, UTC install day, attribution and the cube's dimensions,
sums that fold in the installs' activity: installs, installs with activity, payers,
revenue and opens, and for each day N = 0..30 cumulative revenue, opens and payers within
N + 1 days of install and installs with an open on day N. Every cube column is a sum, so a
refresh appends the *changes* its new events make (grouped) and queries sum them; a cube
is re-grouped once it has grown enough.

The changes that are not plain sums (an install's first activity, first payment, first open
on day N) need each install's state, kept in `rollup_installs`: its dimensions, activity
count, age of first payment and a bitmask of days 0..63 with an open.

A refresh reads the events whose `seq` is above the watermark, in one transaction, so the
rollups always equal a query over the events of some snapshot. Events arrive in `seq` order
(one writer, log order); if the stored row count shows that a row came in below the
watermark anyway, or the layout changed, everything is rebuilt from the stored events.
A fraud relabel goes through `relabel_installs`, which moves the installs between cube
groups; anything else that rewrites stored events must call `reset_rollups` so the next
refresh rebuilds them.
"""

from __future__ import annotations

import duckdb

from attribo.store.rollup_layout import (
    CUBES,
    INSTALL_COLUMNS,
    MAX_DAY,
    TOUCH_COLUMNS,
    cube_columns,
)

DAY_MS = 86_400_000
VERSION = 2
_DAYS = range(MAX_DAY + 1)
_INSTALL_DIMS = list(INSTALL_COLUMNS.values())
_TOUCH_DIMS = list(TOUCH_COLUMNS.values())
_SUMS = (
    ["n", "n_active", "n_paying", "revenue", "sessions"]
    + [f"rev_c{n}" for n in _DAYS]
    + [f"sess_c{n}" for n in _DAYS]
    + [f"pay_c{n}" for n in _DAYS]
    + [f"ret_{n}" for n in _DAYS]
)
_DOUBLE = {"revenue", *(f"rev_c{n}" for n in _DAYS)}


def _type(column: str) -> str:
    return "DOUBLE" if column in _DOUBLE else "BIGINT"


def _ddl() -> list[str]:
    dims = ", ".join(f"{c} VARCHAR" for c in _INSTALL_DIMS)
    out = [
        "CREATE TABLE IF NOT EXISTS rollup_state (id INTEGER PRIMARY KEY, version INTEGER,"
        " watermark BIGINT, rows_seen BIGINT)",
        "CREATE TABLE IF NOT EXISTS rollup_sizes (name VARCHAR PRIMARY KEY, rows BIGINT)",
        "CREATE TABLE IF NOT EXISTS rollup_installs (app_id VARCHAR, event_id VARCHAR,"
        f" event_time TIMESTAMPTZ, attribution VARCHAR, {dims}, n_activity BIGINT NOT NULL,"
        " first_pay_ms BIGINT, open_days UBIGINT NOT NULL)",
    ]
    sums = ", ".join(f"{c} {_type(c)}" for c in _SUMS)
    for name, _ in CUBES:
        touch = ", ".join(f"{c} VARCHAR" for c in cube_columns(name, TOUCH_COLUMNS))
        inst = ", ".join(f"{c} VARCHAR" for c in cube_columns(name, INSTALL_COLUMNS))
        out.append(
            f"CREATE TABLE IF NOT EXISTS rollup_touch_{name} (app_id VARCHAR,"
            f" event_time TIMESTAMPTZ, type VARCHAR, {touch}, n BIGINT)"
        )
        out.append(
            f"CREATE TABLE IF NOT EXISTS rollup_inst_{name} (app_id VARCHAR,"
            f" event_time TIMESTAMPTZ, attribution VARCHAR, {inst}, {sums})"
        )
    return out


def _tables() -> list[str]:
    cubes = [f"rollup_{kind}_{name}" for name, _ in CUBES for kind in ("touch", "inst")]
    return ["rollup_state", "rollup_sizes", "rollup_installs", *cubes]


def reset_rollups(conn: duckdb.DuckDBPyConnection) -> None:
    """Drop the rollups; the next refresh rebuilds them from every stored event."""
    for table in [*_tables(), "rollup_touches"]:  # rollup_touches: the first layout's
        conn.execute(f"DROP TABLE IF EXISTS {table}")


def refresh_rollups(conn: duckdb.DuckDBPyConnection) -> None:
    """Bring the rollups up to the stored events (rebuilding them when they cannot be)."""
    state = _state(conn)
    if state is not None and state[0] == VERSION:
        if state[2] == _one(conn, "SELECT count(*) FROM events"):
            return  # nothing new (checked again inside the transaction otherwise)
    elif state is not None:
        reset_rollups(conn)
    conn.execute("BEGIN TRANSACTION")
    try:
        _refresh(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        for temp in ("rollup_act", "rollup_delta", "rollup_tdelta"):
            conn.execute(f"DROP TABLE IF EXISTS {temp}")


def _state(conn: duckdb.DuckDBPyConnection) -> tuple[int, int, int] | None:
    exists = _one(conn, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'rollup_state'")
    if not exists:
        return None
    row = conn.execute("SELECT version, watermark, rows_seen FROM rollup_state").fetchone()
    return None if row is None else (int(row[0]), int(row[1]), int(row[2]))


def _refresh(conn: duckdb.DuckDBPyConnection) -> None:
    for ddl in _ddl():
        conn.execute(ddl)
    state = _state(conn)
    total = _one(conn, "SELECT count(*) FROM events")
    if state is not None and state[2] == total:
        return  # nothing new
    watermark, seen = (-1, 0) if state is None else state[1:]
    fresh = _one(conn, f"SELECT count(*) FROM events WHERE seq > {watermark}")
    if seen + fresh != total:  # a row came in below the watermark: start again
        for table in _tables()[1:]:
            conn.execute(f"DELETE FROM {table}")
        watermark = -1
    top = _one(conn, f"SELECT coalesce(max(seq), {watermark}) FROM events WHERE seq > {watermark}")
    _installs(conn, watermark)
    _touches(conn, watermark)
    conn.execute("DELETE FROM rollup_state")
    conn.execute("INSERT INTO rollup_state VALUES (1, ?, ?, ?)", [VERSION, top, total])


def _installs(conn: duckdb.DuckDBPyConnection, watermark: int) -> None:
    """New installs and the activity of the new events: install state and cube changes."""
    dims = ", ".join(_INSTALL_DIMS)
    conn.execute(
        f"INSERT INTO rollup_installs SELECT app_id, event_id, event_time, attribution, {dims},"
        f" 0, NULL, 0 FROM events WHERE seq > {watermark} AND type = 'install'"
    )
    age = "(epoch_ms(d.event_time) - epoch_ms(r.event_time))"
    opened = "d.type = 'open'"
    conn.execute(
        "CREATE TEMP TABLE rollup_act AS SELECT d.app_id, d.install_event_id AS iid,"
        f" count(*) AS n_act, sum(d.revenue) AS revenue, count(*) FILTER ({opened}) AS sessions,"
        f" min({age}) FILTER (d.revenue > 0) AS first_pay,"
        f" bit_or(CASE WHEN {opened} AND {age} >= 0 AND {age} < {64 * DAY_MS}"
        f" THEN 1::UBIGINT << ({age} // {DAY_MS})::UTINYINT ELSE 0::UBIGINT END) AS mask, "
        + ", ".join(
            f"sum(d.revenue) FILTER ({age} < {(n + 1) * DAY_MS}) AS rev_c{n}, "
            f"count(*) FILTER ({opened} AND {age} < {(n + 1) * DAY_MS}) AS sess_c{n}"
            for n in _DAYS
        )
        + " FROM events d JOIN rollup_installs r"
        " ON r.app_id = d.app_id AND r.event_id = d.install_event_id"
        f" WHERE d.seq > {watermark} AND d.type IN ('open', 'event') GROUP BY 1, 2"
    )
    first = (
        "CASE WHEN r.first_pay_ms IS NULL THEN u.first_pay WHEN u.first_pay IS NULL"
        " THEN r.first_pay_ms ELSE least(r.first_pay_ms, u.first_pay) END"
    )
    zeros = {c: "0" for c in _SUMS} | {c: "NULL::DOUBLE" for c in _DOUBLE}
    new_installs = {**zeros, "n": "1"}
    changes = {
        "n": "0",
        "n_active": "(r.n_activity = 0)::BIGINT",
        "n_paying": "(r.first_pay_ms IS NULL AND u.first_pay IS NOT NULL)::BIGINT",
        "revenue": "u.revenue",
        "sessions": "u.sessions",
    }
    for n in _DAYS:
        limit = (n + 1) * DAY_MS
        changes[f"rev_c{n}"] = f"u.rev_c{n}"
        changes[f"sess_c{n}"] = f"u.sess_c{n}"
        changes[f"pay_c{n}"] = (
            f"coalesce(({first}) < {limit}, false)::BIGINT"
            f" - coalesce(r.first_pay_ms < {limit}, false)::BIGINT"
        )
        changes[f"ret_{n}"] = (
            f"(((r.open_days | u.mask) >> {n}) & 1)::BIGINT - ((r.open_days >> {n}) & 1)::BIGINT"
        )
    keys = f"app_id, date_trunc('day', event_time) AS event_time, attribution, {dims}"
    r_keys = ", ".join(
        ["r.app_id", "date_trunc('day', r.event_time) AS event_time", "r.attribution"]
        + [f"r.{c}" for c in _INSTALL_DIMS]
    )
    conn.execute(
        f"CREATE TEMP TABLE rollup_delta AS SELECT {keys}, "
        + ", ".join(f"{new_installs[c]} AS {c}" for c in _SUMS)
        + f" FROM events WHERE seq > {watermark} AND type = 'install'"
        f" UNION ALL BY NAME SELECT {r_keys}, "
        + ", ".join(f"{changes[c]} AS {c}" for c in _SUMS)
        + " FROM rollup_act u JOIN rollup_installs r ON r.app_id = u.app_id"
        " AND r.event_id = u.iid"
    )
    conn.execute(
        f"UPDATE rollup_installs r SET n_activity = r.n_activity + u.n_act, first_pay_ms = {first},"
        " open_days = r.open_days | u.mask FROM rollup_act u"
        " WHERE r.app_id = u.app_id AND r.event_id = u.iid"
    )
    for name, _ in CUBES:
        _append(
            conn,
            f"rollup_inst_{name}",
            "rollup_delta",
            ["attribution", *cube_columns(name, INSTALL_COLUMNS)],
            _SUMS,
        )


def relabel_installs(
    conn: duckdb.DuckDBPyConnection, app_id: str, event_ids: list[str], attribution: str
) -> int:
    """Set stored installs' attribution (a fraud relabel) and move them in the cubes.

    Each install already folded into the cubes leaves its old group with everything it
    brought (itself, its activity up to the watermark) and joins the group of its new
    attribution; installs not folded yet are folded with the new label by the next refresh.
    Returns how many stored installs changed.
    """
    conn.execute("BEGIN TRANSACTION")
    try:
        changed = _relabel(conn, app_id, event_ids, attribution)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        for temp in ("rollup_moved", "rollup_act", "rollup_delta"):
            conn.execute(f"DROP TABLE IF EXISTS {temp}")
    return changed


def _relabel(
    conn: duckdb.DuckDBPyConnection, app_id: str, event_ids: list[str], attribution: str
) -> int:
    ids = "(SELECT unnest(?::VARCHAR[]))"
    state = _state(conn)
    if state is not None and state[0] == VERSION:
        conn.execute(
            "CREATE TEMP TABLE rollup_moved AS SELECT * FROM rollup_installs"
            f" WHERE app_id = ? AND event_id IN {ids} AND attribution IS DISTINCT FROM ?",
            [app_id, event_ids, attribution],
        )
        _move(conn, int(state[1]), attribution)
    row = conn.execute(
        "UPDATE events SET attribution = ? WHERE app_id = ? AND type = 'install'"
        f" AND event_id IN {ids} AND attribution IS DISTINCT FROM ?",
        [attribution, app_id, event_ids, attribution],
    ).fetchone()
    return int(row[0]) if row else 0


def _move(conn: duckdb.DuckDBPyConnection, watermark: int, attribution: str) -> None:
    """Cube changes taking `rollup_moved` installs from their label to `attribution`."""
    age = "(epoch_ms(d.event_time) - epoch_ms(r.event_time))"
    conn.execute(
        "CREATE TEMP TABLE rollup_act AS SELECT r.event_id AS iid, sum(d.revenue) AS revenue,"
        " count(*) FILTER (d.type = 'open') AS sessions, "
        + ", ".join(
            f"sum(d.revenue) FILTER ({age} < {(n + 1) * DAY_MS}) AS rev_c{n}, "
            f"count(*) FILTER (d.type = 'open' AND {age} < {(n + 1) * DAY_MS}) AS sess_c{n}"
            for n in _DAYS
        )
        + " FROM events d JOIN rollup_moved r"
        " ON r.app_id = d.app_id AND r.event_id = d.install_event_id"
        f" WHERE d.seq <= {watermark} AND d.type IN ('open', 'event') GROUP BY 1"
    )
    brought = {
        "n": "1",
        "n_active": "(r.n_activity > 0)::BIGINT",
        "n_paying": "(r.first_pay_ms IS NOT NULL)::BIGINT",
        "revenue": "u.revenue",
        "sessions": "coalesce(u.sessions, 0)",
    }
    for n in _DAYS:
        brought[f"rev_c{n}"] = f"u.rev_c{n}"
        brought[f"sess_c{n}"] = f"coalesce(u.sess_c{n}, 0)"
        brought[f"pay_c{n}"] = f"coalesce(r.first_pay_ms < {(n + 1) * DAY_MS}, false)::BIGINT"
        brought[f"ret_{n}"] = f"((r.open_days >> {n}) & 1)::BIGINT"
    keys = ", ".join(
        ["r.app_id", "date_trunc('day', r.event_time) AS event_time"]
        + [f"r.{c}" for c in _INSTALL_DIMS]
    )
    source = " FROM rollup_moved r LEFT JOIN rollup_act u ON u.iid = r.event_id"
    conn.execute(
        f"CREATE TEMP TABLE rollup_delta AS SELECT {keys}, ?::VARCHAR AS attribution, "
        + ", ".join(f"{brought[c]} AS {c}" for c in _SUMS)
        + source
        + f" UNION ALL BY NAME SELECT {keys}, r.attribution, "
        + ", ".join(f"-({brought[c]}) AS {c}" for c in _SUMS)
        + source,
        [attribution],
    )
    conn.execute(
        "UPDATE rollup_installs r SET attribution = ? FROM rollup_moved m"
        " WHERE r.app_id = m.app_id AND r.event_id = m.event_id",
        [attribution],
    )
    for name, _ in CUBES:
        _append(
            conn,
            f"rollup_inst_{name}",
            "rollup_delta",
            ["attribution", *cube_columns(name, INSTALL_COLUMNS)],
            _SUMS,
        )


def _touches(conn: duckdb.DuckDBPyConnection, watermark: int) -> None:
    dims = ", ".join(_TOUCH_DIMS)
    conn.execute(
        "CREATE TEMP TABLE rollup_tdelta AS SELECT app_id, date_trunc('day', event_time)"
        f" AS event_time, type, {dims}, count(*) AS n FROM events WHERE seq > {watermark}"
        f" AND type IN ('click', 'impression') GROUP BY ALL"
    )
    for name, _ in CUBES:
        _append(
            conn,
            f"rollup_touch_{name}",
            "rollup_tdelta",
            ["type", *cube_columns(name, TOUCH_COLUMNS)],
            ["n"],
        )


def _append(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    source: str,
    keys: list[str],
    sums: list[str],
) -> None:
    """Append the grouped changes; re-group the table once it has doubled since last time."""
    listed = ", ".join(["app_id", "event_time", *keys])
    totals = ", ".join(f"sum({c})::{_type(c)} AS {c}" for c in sums)
    conn.execute(f"INSERT INTO {table} SELECT {listed}, {totals} FROM {source} GROUP BY {listed}")
    rows = _one(conn, f"SELECT count(*) FROM {table}")
    known = conn.execute("SELECT rows FROM rollup_sizes WHERE name = ?", [table]).fetchone()
    if known is not None and rows <= 2 * int(known[0]) + 20_000:
        return
    if known is not None:
        conn.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT {listed}, {totals} FROM {table}"
            f" GROUP BY {listed} ORDER BY app_id, event_time"
        )
        rows = _one(conn, f"SELECT count(*) FROM {table}")
    conn.execute("INSERT OR REPLACE INTO rollup_sizes VALUES (?, ?)", [table, rows])


def _one(conn: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = conn.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
