"""The replay's match keys: computed on insert, NULL where live has no key, and made current
when a file predates them or an upgraded DuckDB hashes differently."""

from __future__ import annotations

from pathlib import Path

import duckdb

from attribo.attribution.replay import replay_attribution, replay_script
from attribo.attribution.settings import AttributionSettings
from attribo.events.record import StoredEvent
from attribo.store.duckdb import DuckDBStore
from attribo.store.match_keys import MATCH_KEY_COLUMNS, ensure_match_keys
from attribo.store.schema import records_to_table

T0 = 1_750_000_000_000
APP = "keys"


def _event(event_id: str, kind: str, seq: int, **fields: object) -> StoredEvent:
    return StoredEvent(
        app_id=APP,
        event_id=event_id,
        type=kind,
        event_time=T0 + seq * 1000,
        received_at=T0,
        seq=seq,
        network="meta" if kind == "click" else None,
        **fields,  # type: ignore[arg-type]
    )


# One install per match type, one organic (its only click is on another device), and a
# session, which carries device fields but is never joined.
RECORDS = [
    _event("c-id", "click", 1, click_id="k1", platform="android", gaid="g-other"),
    _event("c-dev", "click", 2, platform="ios", idfa="idfa-1", ip="9.9.9.9", os_version="17"),
    _event("c-fp", "click", 3, platform="android", ip="5.5.5.5", os_version="14"),
    _event("c-none", "click", 4, platform="android", gaid="g-far", ip="7.7.7.7", os_version="13"),
    _event("i-id", "install", 5, click_id="k1", platform="android", gaid="g-1"),
    _event("i-dev", "install", 6, platform="ios", idfa="idfa-1", ip="8.8.8.8", os_version="17"),
    _event("i-fp", "install", 7, platform="android", gaid="g-2", ip="5.5.5.5", os_version="14"),
    _event("i-org", "install", 8, platform="android", gaid="g-3", ip="6.6.6.6", os_version="14"),
    _event("s-1", "session", 9, platform="android", gaid="g-1", ip="5.5.5.5", os_version="14"),
]
EXPECTED = {
    "i-id": ("attributed", "click_id", "c-id"),
    "i-dev": ("attributed", "device", "c-dev"),
    "i-fp": ("attributed", "fingerprint", "c-fp"),
    "i-org": ("organic", None, None),
}


def _stored(path: Path) -> None:
    store = DuckDBStore(path)
    try:
        store.write_events(records_to_table(RECORDS), "test", 1)
    finally:
        store.close()


def _replayed(path: Path) -> dict[str, tuple[str, str | None, str | None]]:
    store = DuckDBStore(path)
    try:
        rows = replay_attribution(store, AttributionSettings(), APP).to_pylist()
    finally:
        store.close()
    return {r["install_event_id"]: (r["status"], r["match"], r["touch_event_id"]) for r in rows}


def _keys(path: Path) -> dict[str, tuple[object, ...]]:
    with duckdb.connect(str(path)) as conn:
        columns = ", ".join(MATCH_KEY_COLUMNS)
        rows = conn.execute(f"SELECT event_id, {columns} FROM events").fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_keys_exist_exactly_where_live_has_an_index_entry(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    _stored(path)
    keys = _keys(path)
    present = {event_id: tuple(key is not None for key in row) for event_id, row in keys.items()}
    # click id, idfa, gaid, fingerprint (ip, platform and OS version all needed)
    assert present["c-id"] == (True, False, True, False)
    assert present["c-dev"] == (False, True, False, True)
    assert present["i-fp"] == (False, False, True, True)
    assert present["s-1"] == (False, False, False, False)  # never joined, never keyed
    assert keys["i-fp"][3] == keys["c-fp"][3] != keys["i-org"][3]
    assert keys["i-id"][0] == keys["c-id"][0]
    assert _replayed(path) == EXPECTED


def test_empty_values_get_no_key(tmp_path: Path) -> None:
    """An empty click id or device id is no key to live, so none to the replay either."""
    path = tmp_path / "events.duckdb"
    store = DuckDBStore(path)
    try:
        store.write_events(
            records_to_table(
                [
                    _event("c-empty", "click", 1, click_id="", gaid="", platform="android"),
                    _event("i-empty", "install", 2, click_id="", gaid="", platform="android"),
                ]
            ),
            "test",
            1,
        )
        rows = replay_attribution(store, AttributionSettings(), APP).to_pylist()
    finally:
        store.close()
    assert [(r["install_event_id"], r["status"]) for r in rows] == [("i-empty", "organic")]
    assert _keys(path)["c-empty"] == (None, None, None, None)


def test_a_file_from_before_the_keys_gets_them_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    _stored(path)
    with duckdb.connect(str(path)) as conn:  # the file as an earlier release left it
        for column in MATCH_KEY_COLUMNS:
            conn.execute(f"ALTER TABLE events DROP COLUMN {column}")
        conn.execute("DROP TABLE store_meta")
    assert _replayed(path) == EXPECTED
    assert _keys(path)["c-fp"][3] is not None


def test_keys_another_duckdb_hashed_are_computed_again(tmp_path: Path) -> None:
    """A DuckDB release that hashes differently leaves a canary that no longer matches."""
    path = tmp_path / "events.duckdb"
    _stored(path)
    with duckdb.connect(str(path)) as conn:
        conn.execute(f"UPDATE events SET {', '.join(f'{c} = 1' for c in MATCH_KEY_COLUMNS)}")
        conn.execute("UPDATE store_meta SET value = 'hash of another release'")
        stale = {r["install_event_id"]: r["status"] for r in _replay_raw(conn)}
    assert stale["i-org"] == "attributed"  # keys all equal: everything matched everything
    assert _replayed(path) == EXPECTED


def test_current_keys_are_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    _stored(path)
    with duckdb.connect(str(path)) as conn:
        assert ensure_match_keys(conn) is False
        conn.execute("UPDATE store_meta SET value = 'stale'")
        assert ensure_match_keys(conn) is True
        assert ensure_match_keys(conn) is False


def _replay_raw(conn: duckdb.DuckDBPyConnection) -> list[dict[str, object]]:
    """The replay script straight on a connection (no store: it would refresh the keys)."""
    return conn.sql(replay_script(AttributionSettings(), APP)).to_arrow_table().to_pylist()


def test_keys_of_another_type_are_replaced(tmp_path: Path) -> None:
    """Keys a development build stored as UHUGEINT (which pandas cannot read) are redone."""
    path = tmp_path / "events.duckdb"
    _stored(path)
    with duckdb.connect(str(path)) as conn:
        for column in MATCH_KEY_COLUMNS:
            conn.execute(f"ALTER TABLE events DROP COLUMN {column}")
            conn.execute(f"ALTER TABLE events ADD COLUMN {column} UHUGEINT")
    assert _replayed(path) == EXPECTED
    with duckdb.connect(str(path)) as conn:
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_name = 'events'"
            ).fetchall()
        )
    assert {types[c] for c in MATCH_KEY_COLUMNS} == {"HUGEINT"}


def test_every_column_reads_into_pandas_and_arrow(tmp_path: Path) -> None:
    """Analysts open the file with `SELECT *`: the keys must not break their tools."""
    path = tmp_path / "events.duckdb"
    _stored(path)
    with duckdb.connect(str(path), read_only=True) as conn:
        frame = conn.execute("SELECT * FROM events").df()
        table = conn.sql("SELECT * FROM events").to_arrow_table()
    assert len(frame) == table.num_rows == len(RECORDS)
    assert frame["fingerprint_key"].notna().sum() == 6  # three clicks, three installs
