"""The `costs` side table on a real DuckDB file: upsert by natural key, USD, date ranges."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from attribo.events.validate import FieldError
from attribo.store.costs import (
    USD_RATES,
    CostRow,
    CostSink,
    UnknownCurrencyError,
    check_cost_rows,
    to_usd,
)
from attribo.store.duckdb import DuckDBStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    store = DuckDBStore(tmp_path / "e.duckdb", threads=1)
    yield store
    store.close()


@pytest.fixture
def sink(store: DuckDBStore) -> CostSink:
    return CostSink(store.side_cursor())


def row(**fields: Any) -> CostRow:
    """A valid row of app `game`, changed by `fields`."""
    checked = check_cost_rows([msgspec_row(**{"adset": "us-broad", "ad": "video-1", **fields})])
    assert isinstance(checked[0], CostRow), checked
    return checked[0]


def table(sink: CostSink, app_id: str = "game") -> list[dict[str, Any]]:
    return sink.read(app_id)


def test_same_upload_twice_leaves_the_same_table(sink: CostSink) -> None:
    rows = [row(), row(country="DE", spend=80.0), row(date="2025-03-02")]
    assert sink.upsert(rows) == (3, 0)
    first = table(sink)
    assert sink.upsert(rows) == (0, 3)
    assert table(sink) == first
    assert len(first) == 3


def test_changed_spend_replaces_the_row(sink: CostSink) -> None:
    sink.upsert([row(), row(country="DE", spend=80.0)])
    assert sink.upsert([row(spend=99.0, clicks=1000, currency="EUR")]) == (0, 1)
    by_country = {r["country"]: r for r in table(sink)}
    assert len(by_country) == 2
    us = by_country["US"]
    assert (us["spend"], us["currency"], us["clicks"]) == (99.0, "EUR", 1000)
    assert us["spend_usd"] == pytest.approx(99.0 / USD_RATES["EUR"])
    assert by_country["DE"]["spend"] == 80.0  # untouched


def test_missing_key_parts_are_part_of_the_key(sink: CostSink) -> None:
    """None and "" are the same key; a missing part differs from any present value."""
    bare = {"campaign": None, "adset": None, "ad": None, "country": None}
    assert sink.upsert([row(**bare, spend=1.0)]) == (1, 0)
    empty = {"campaign": "", "adset": "", "ad": "", "country": ""}
    assert sink.upsert([row(**empty, spend=2.0)]) == (0, 1)
    assert sink.upsert([row(campaign="spring", adset=None, ad=None, country=None)]) == (1, 0)
    assert sink.upsert([row(adset=None)]) == (1, 0)
    stored = table(sink)
    assert len(stored) == 3
    blank = [r for r in stored if r["campaign"] is None]
    assert len(blank) == 1
    assert (blank[0]["adset"], blank[0]["ad"], blank[0]["country"], blank[0]["spend"]) == (
        None,
        None,
        None,
        2.0,
    )


def test_repeats_within_one_upload_keep_the_last(sink: CostSink) -> None:
    rows = [row(spend=1.0), row(country="DE"), row(spend=3.0), row(spend=2.0)]
    inserted, replaced = sink.upsert(rows)
    assert (inserted, replaced) == (2, 2)
    assert {r["country"]: r["spend"] for r in table(sink)} == {"US": 2.0, "DE": 120.5}


@pytest.mark.parametrize(
    ("currency", "spend", "usd"),
    [
        ("USD", 100.0, 100.0),
        ("EUR", 92.0, 100.0),
        ("JPY", 15_000.0, 100.0),
        ("KRW", 135_000.0, 100.0),
        ("gbp", 79.0, 100.0),
    ],
)
def test_spend_is_kept_as_given_and_in_usd(
    sink: CostSink, currency: str, spend: float, usd: float
) -> None:
    sink.upsert([row(currency=currency, spend=spend)])
    (stored,) = table(sink)
    assert stored["spend"] == spend
    assert stored["currency"] == currency.upper()
    assert stored["spend_usd"] == pytest.approx(usd)


def test_every_major_currency_has_a_rate() -> None:
    major = {"USD", "EUR", "GBP", "JPY", "CNY", "KRW", "INR", "BRL", "CAD", "AUD"}
    assert set(USD_RATES) == major
    assert all(to_usd(rate, code) == pytest.approx(1.0) for code, rate in USD_RATES.items())


def test_unknown_currency_is_refused_and_nothing_stored(sink: CostSink) -> None:
    checked = check_cost_rows([msgspec_row(currency="XYZ"), msgspec_row()])
    assert checked == [FieldError("currency", checked[0].message, 0)]
    assert "XYZ" in checked[0].message
    with pytest.raises(UnknownCurrencyError):
        to_usd(1.0, "XYZ")
    good = row()
    bad = CostRow(**{**_fields(good), "currency": "XYZ"})
    with pytest.raises(UnknownCurrencyError):
        sink.upsert([good, bad])
    assert table(sink) == []


def test_read_ranges_are_inclusive_and_per_app(sink: CostSink) -> None:
    days = [dt.date(2025, 3, 1) + dt.timedelta(days=i) for i in range(10)]
    sink.upsert([row(date=d.isoformat(), spend=float(i)) for i, d in enumerate(days)])
    sink.upsert([row(app_id="other", date=days[4].isoformat())])
    got = sink.read("game", days[2], days[5])
    assert [r["date"] for r in got] == days[2:6]
    assert all(r["app_id"] == "game" for r in got)
    assert [r["date"] for r in sink.read("game", date_from=days[8])] == days[8:]
    assert [r["date"] for r in sink.read("game", date_to=days[0])] == days[:1]
    assert sink.read("game", days[6], days[5]) == []
    assert len(sink.read("other")) == 1
    assert sink.read("nobody") == []


def test_rows_survive_a_reopen(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "e.duckdb", threads=1)
    CostSink(store.side_cursor()).upsert([row(), row(country="DE")])
    store.close()
    store = DuckDBStore(tmp_path / "e.duckdb", threads=1)
    try:
        assert len(CostSink(store.side_cursor()).read("game")) == 2
    finally:
        store.close()


def test_concurrent_uploads_from_threads(sink: CostSink) -> None:
    """Eight threads re-uploading overlapping rows: no error, one row per key."""
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for day in range(1, 11):
                sink.upsert([row(date=f"2025-03-{day:02d}", spend=float(n)) for _ in range(3)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(table(sink)) == 10


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"date": "2025-3-1"}, "date"),
        ({"date": "2025-02-30"}, "date"),
        ({"spend": -1}, "spend"),
        ({"spend": 1e13}, "spend"),
        ({"spend": float("nan")}, "spend"),
        ({"spend": float("inf")}, "spend"),
        ({"spend": "12"}, "spend"),
        ({"impressions": -5}, "impressions"),
        ({"clicks": 1.5}, "clicks"),
        ({"campaign": "x" * 257}, "campaign"),
        ({"network": ""}, "network"),
        ({"spnd": 3}, "spnd"),
        ({"app_id": None}, "app_id"),
    ],
)
def test_invalid_rows_are_named_by_index_and_field(fields: dict[str, Any], field: str) -> None:
    checked = check_cost_rows([msgspec_row(), msgspec_row(**fields), msgspec_row()])
    assert len(checked) == 1
    error = checked[0]
    assert isinstance(error, FieldError)
    assert (error.index, error.field) == (1, field)


def test_missing_required_fields_are_named() -> None:
    item = msgspec_row()
    del item["spend"]
    (error,) = check_cost_rows([item])
    assert isinstance(error, FieldError)
    assert (error.index, error.field) == (0, "spend")


def test_csv_cells_are_coerced_when_not_strict() -> None:
    item = {k: str(v) for k, v in msgspec_row().items()}
    (parsed,) = check_cost_rows([item], strict=False)
    assert isinstance(parsed, CostRow)
    assert (parsed.spend, parsed.impressions, parsed.date) == (120.5, 40_000, dt.date(2025, 3, 1))


def msgspec_row(**fields: Any) -> dict[str, Any]:
    """A valid row as decoded JSON, changed by `fields`."""
    return {
        "date": "2025-03-01",
        "app_id": "game",
        "network": "meta",
        "campaign": "spring",
        "country": "US",
        "spend": 120.5,
        "currency": "USD",
        "impressions": 40_000,
        "clicks": 900,
        **fields,
    }


def _fields(value: CostRow) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__struct_fields__}
