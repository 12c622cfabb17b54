"""SKAN postbacks in a DuckDB file: dedup, verified replacing unverified, verified-only counts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribo.store.skan import (
    DuckDBPostbackSink,
    create_skan_tables,
    read_postbacks,
    skan_summary,
    write_postback,
)
from skan_records import T0, record


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(tmp_path / "store.duckdb"))
    create_skan_tables(connection)
    yield connection
    connection.close()


def test_repeat_is_stored_once(conn: duckdb.DuckDBPyConnection) -> None:
    """The same (app, transaction, sequence index) is one row however often it arrives."""
    assert write_postback(conn, record(conversion_value=1)) is True
    assert write_postback(conn, record(conversion_value=1)) is False
    assert write_postback(conn, record(postback_sequence_index=1)) is True
    assert write_postback(conn, record(app_id="app2")) is True  # tenants never collide
    assert len(read_postbacks(conn, "app1")) == 2
    assert skan_summary(conn, "app1").installs == 1


def test_verified_copy_replaces_unverified(conn: duckdb.DuckDBPyConnection) -> None:
    """A forged first copy cannot block the genuine postback, nor replace it afterwards."""
    assert write_postback(conn, record("a", verified=False, conversion_value=31)) is True
    assert write_postback(conn, record("a", verified=True, conversion_value=1)) is True
    assert write_postback(conn, record("a", verified=False, conversion_value=63)) is False
    (row,) = read_postbacks(conn, "app1")
    assert row["verified"] is True and row["conversion_value"] == 1


def test_unverified_kept_apart_and_never_counted(conn: duckdb.DuckDBPyConnection) -> None:
    """Unverified postbacks are stored and reported as a count, never in any total."""
    write_postback(conn, record("good", conversion_value=33))
    write_postback(conn, record("forged-1", verified=False, conversion_value=33))
    write_postback(conn, record("forged-2", verified=False, coarse_conversion_value="high"))
    summary = skan_summary(conn, "app1")
    assert (summary.postbacks, summary.installs, summary.unverified) == (1, 1, 2)
    assert (summary.revenue_min, summary.revenue_max) == (1.0, 5.0)
    assert summary.events == {"purchase": 1}
    assert len(read_postbacks(conn, "app1", verified=False)) == 2
    assert skan_summary(conn, "nobody").postbacks == 0


def test_summary_by_network_and_campaign(conn: duckdb.DuckDBPyConnection) -> None:
    """Totals split by network and campaign; later windows add revenue but no installs."""
    write_postback(conn, record("a", conversion_value=1))
    write_postback(conn, record("a", postback_sequence_index=1, coarse_conversion_value="high"))
    write_postback(conn, record("b", redownload=True, conversion_value=32))
    write_postback(conn, record("c", did_win=False))
    write_postback(conn, record("d", ad_network_id="other.skadnetwork", source_identifier="7"))
    summary = skan_summary(conn, "app1")
    assert (summary.installs, summary.redownloads, summary.non_winning) == (3, 1, 1)
    assert (summary.revenue_min, summary.revenue_max) == (11.0, 25.0)
    assert summary.events == {"purchase": 1, "whale": 1}
    groups = {(g.network, g.campaign): g for g in summary.by_network}
    assert set(groups) == {("Meta", "12"), ("other.skadnetwork", "7")}
    meta = groups["Meta", "12"]
    assert (meta.postbacks, meta.installs, meta.redownloads, meta.non_winning) == (4, 2, 1, 1)


def test_received_at_range(conn: duckdb.DuckDBPyConnection) -> None:
    """`since` is inclusive, `until` exclusive; naive times are refused."""
    for day in range(3):
        write_postback(conn, record(f"t{day}", received_at=T0 + timedelta(days=day)))
    summary = skan_summary(conn, "app1", T0 + timedelta(days=1), T0 + timedelta(days=2))
    assert summary.installs == 1
    rows = read_postbacks(conn, "app1", since=T0 + timedelta(days=1))
    assert [r["transaction_id"] for r in rows] == ["t1", "t2"]
    assert rows[0]["received_at"] == T0 + timedelta(days=1)
    with pytest.raises(ValueError, match="timezone-aware"):
        skan_summary(conn, "app1", since=datetime(2025, 1, 1))


def test_survives_reopen(tmp_path: Path) -> None:
    """Dedup holds across a restart: the key lives in the file, not in memory."""
    path = str(tmp_path / "reopen.duckdb")
    first = duckdb.connect(path)
    assert DuckDBPostbackSink(first).write_postback(record("r")) is True
    first.close()
    second = duckdb.connect(path)
    assert DuckDBPostbackSink(second).write_postback(record("r")) is False
    assert read_postbacks(second, "app1")[0]["raw"] == '{"raw": true}'
    second.close()


# Keys repeat (t0/seq 0 three times, ...); verified copies of a key agree, forged ones differ.
_RECORDS = [
    record(
        f"t{i % 4}",
        postback_sequence_index=i % 2,
        verified=i % 3 != 0,
        coarse_conversion_value="high" if i % 3 == 0 else "low",
    )
    for i in range(12)
]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(range(len(_RECORDS))), min_size=1, max_size=30))
def test_dedup_is_idempotent_and_order_free(order: list[int]) -> None:
    """Any order, with any repeats, ends with the same verified counts as each once."""
    once, shuffled = duckdb.connect(), duckdb.connect()
    create_skan_tables(once)
    create_skan_tables(shuffled)
    for index in sorted(set(order)):
        write_postback(once, _RECORDS[index])
    for index in order:
        write_postback(shuffled, _RECORDS[index])
    assert skan_summary(once, "app1") == skan_summary(shuffled, "app1")
