"""Property: any uploads, in any order and split, leave the table a last-write-wins dict."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribo.store.costs import KEY_COLUMNS, USD_RATES, CostRow, CostSink, check_cost_rows

# A small key space, so repeats within and across uploads are common; None and "" are
# both "missing" and must land on the same key.
cost_rows = st.fixed_dictionaries(
    {
        "date": st.sampled_from(["2025-03-01", "2025-03-02", "2025-03-31"]),
        "app_id": st.sampled_from(["game", "other"]),
        "network": st.sampled_from(["meta", "tiktok"]),
        "campaign": st.sampled_from([None, "", "spring"]),
        "adset": st.sampled_from([None, "a"]),
        "ad": st.sampled_from([None, "", "v1"]),
        "country": st.sampled_from([None, "US", "DE"]),
        "spend": st.floats(min_value=0, max_value=1e12, allow_nan=False),
        "currency": st.sampled_from([*sorted(USD_RATES), "eur"]),
        "impressions": st.none() | st.integers(min_value=0, max_value=2**63 - 1),
        "clicks": st.none() | st.integers(min_value=0, max_value=10**6),
    }
)
uploads = st.lists(st.lists(cost_rows, max_size=12), max_size=5)


def key_of(row: dict[str, Any]) -> tuple[str, ...]:
    """The natural key with missing parts as ""."""
    return tuple(str(row[name] or "") for name in KEY_COLUMNS)


def value_of(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["spend"], row["currency"].upper(), row["impressions"], row["clicks"])


def decoded(items: list[dict[str, Any]]) -> list[CostRow]:
    rows = check_cost_rows(items)
    assert all(isinstance(r, CostRow) for r in rows), rows
    return [r for r in rows if isinstance(r, CostRow)]


@pytest.fixture(scope="module")
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    """One in-memory database for every example (emptied by each); a file is tested apart."""
    conn = duckdb.connect()
    yield conn
    conn.close()


@settings(max_examples=150, deadline=None)
@given(batches=uploads)
def test_final_table_is_the_last_write_wins_dict(
    conn: duckdb.DuckDBPyConnection, batches: list[list[dict[str, Any]]]
) -> None:
    sink = CostSink(conn)
    conn.execute("DELETE FROM costs")
    model: dict[tuple[str, ...], dict[str, Any]] = {}
    for batch in batches:
        inserted, replaced = sink.upsert(decoded(batch))
        new_keys = {key_of(row) for row in batch} - set(model)
        assert (inserted, replaced) == (len(new_keys), len(batch) - len(new_keys))
        model.update((key_of(row), row) for row in batch)
    stored = sink.read("game") + sink.read("other")
    assert {key_of({**r, "date": r["date"].isoformat()}): value_of(r) for r in stored} == {
        k: value_of(v) for k, v in model.items()
    }
    assert len(stored) == len(model)
    for r in stored:
        assert r["spend_usd"] == r["spend"] / USD_RATES[r["currency"]]


@settings(max_examples=75, deadline=None)
@given(rows=st.lists(cost_rows, max_size=20), data=st.data())
def test_batch_boundaries_do_not_matter(
    conn: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], data: st.DataObject
) -> None:
    """The same rows in one upload or split at arbitrary points give the same table."""
    cuts = sorted(data.draw(st.lists(st.integers(0, len(rows)), max_size=4)))
    sink = CostSink(conn)
    tables = []
    for bounds in ([0, len(rows)], [0, *cuts, len(rows)]):
        conn.execute("DELETE FROM costs")
        for start, end in itertools.pairwise(bounds):
            sink.upsert(decoded(rows[start:end]))
        tables.append(sink.read("game") + sink.read("other"))
    assert tables[0] == tables[1]
