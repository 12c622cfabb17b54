"""Match keys: the attribution join keys of each touch and install, hashed once, when stored.

The replay joins 1M installs against 10M touches on click id, advertising id and fingerprint
(ip, platform, OS version). Hash-joining those strings costs DuckDB most of the replay:
it hashes and compares every probing string again, and a three-column fingerprint join gets
no Bloom filter at all. So the DuckDB store keeps each key as one integer beside the event,
computed in the same INSERT that stores it (about 0.9 us an event), and the replay joins
integers (1M installs against 10M clicks: 1.2-1.4x faster, see the README).

A key is two independent hashes of the value, 63 and 64 bits (DuckDB's `hash` of it, and of
it with a prefix), in a HUGEINT, so two different values share a key with probability about
2^-127 per pair: the replay trusts equal keys as equal values. A key is NULL where the value
is missing or empty, as the live rules skip those; only touches and installs get keys
(nothing else is joined).

DuckDB does not promise that `hash` stays the same across its releases, so the store keeps a
canary (the key of a fixed text, with the formula's version) and, when a DuckDB upgrade
computes another one, a release changes the formula, or the file predates the keys, computes
every key again when the store opens (about a second per 3M stored touches).
"""

from __future__ import annotations

import duckdb

MATCH_KEY_COLUMNS = ("click_key", "idfa_key", "gaid_key", "fingerprint_key")
_KEYED_TYPES = "('click', 'impression', 'install')"
_CANARY_TEXT = "attribo match key canary"
_FORMULA = 1  # raise when the keys' formula changes: stored keys are then computed anew
_KEY_TYPE = "HUGEINT"


def _key(*values: str) -> str:
    """A 127-bit key of SQL expressions: DuckDB's hash of them (less a bit, so it fits a
    signed HUGEINT, which pandas and Arrow read, unlike UHUGEINT), and of them with the first
    one prefixed (an independent hash of it, so the halves never collide together)."""
    first, *rest = values
    salted = ", ".join((f"'~' || {first}", *rest))
    return f"(((hash({', '.join(values)}) >> 1)::HUGEINT << 64) | hash({salted})::HUGEINT)"


def match_key_exprs(alias: str = "") -> list[str]:
    """The key columns' values for the event row `alias` (say `i.`), in column order.

    `x <> ''` is NULL for a NULL `x`, so one test keeps out the missing and the empty.
    """
    keyed = f"{alias}type IN {_KEYED_TYPES}"
    single = [f"{alias}{column}" for column in ("click_id", "idfa", "gaid")]
    fingerprint = [f"{alias}{column}" for column in ("ip", "platform", "os_version")]
    every_part = " AND ".join(f"{c} <> ''" for c in fingerprint)
    return [
        *(f"CASE WHEN {keyed} AND {c} <> '' THEN {_key(c)} END" for c in single),
        f"CASE WHEN {keyed} AND {every_part} THEN {_key(*fingerprint)} END",
    ]


def match_key_select(alias: str = "") -> str:
    """The key columns as a SELECT list (`expr AS click_key, …`) for an INSERT BY NAME."""
    return ", ".join(
        f"{expr} AS {name}"
        for name, expr in zip(MATCH_KEY_COLUMNS, match_key_exprs(alias), strict=True)
    )


def ensure_match_keys(conn: duckdb.DuckDBPyConnection) -> bool:
    """Give the events table its key columns and make every stored key current.

    Returns whether keys were (re)computed: a file from before the keys, or one whose keys
    an earlier DuckDB release computed differently.
    """
    present = dict(
        conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_name = 'events'"
        ).fetchall()
    )
    conn.execute("CREATE TABLE IF NOT EXISTS store_meta (name VARCHAR PRIMARY KEY, value VARCHAR)")
    for column in MATCH_KEY_COLUMNS:
        if present.get(column) not in (None, _KEY_TYPE):  # keys of another shape: anew
            conn.execute(f"ALTER TABLE events DROP COLUMN {column}")
            conn.execute("DELETE FROM store_meta WHERE name = 'match_key_canary'")
        if present.get(column) != _KEY_TYPE:
            conn.execute(f"ALTER TABLE events ADD COLUMN {column} {_KEY_TYPE}")
    literal = f"'{_CANARY_TEXT}'"
    ((hashed,),) = conn.execute(f"SELECT {_key(literal)}::VARCHAR").fetchall()
    canary = f"{_FORMULA}:{hashed}"
    stored = conn.execute("SELECT value FROM store_meta WHERE name = 'match_key_canary'")
    if stored.fetchall() == [(canary,)]:  # fetched to the end: the connection is free again
        return False
    fill_match_keys(conn)
    conn.execute("INSERT OR REPLACE INTO store_meta VALUES ('match_key_canary', ?)", [canary])
    return True


def fill_match_keys(conn: duckdb.DuckDBPyConnection) -> None:
    """Compute the keys of every stored touch and install (after rows came in by plain SQL)."""
    sets = ", ".join(
        f"{column} = {expr}"
        for column, expr in zip(MATCH_KEY_COLUMNS, match_key_exprs(), strict=True)
    )
    conn.execute(f"UPDATE events SET {sets} WHERE type IN {_KEYED_TYPES}")
