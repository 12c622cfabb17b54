"""The cost-upload contract: upserts by natural key, counts, order and missing keys."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from attribo.store.costs import CostRow

D1, D2 = dt.date(2026, 10, 1), dt.date(2026, 10, 2)


def row(day: dt.date = D1, spend: float = 10.0, **kw: Any) -> CostRow:
    fields: dict[str, Any] = {"app_id": "a", "network": "meta", "currency": "USD"} | kw
    return CostRow(date=day, spend=spend, **fields)


def test_new_keys_are_inserted_and_read_back_in_key_order(cost_sink: Any) -> None:
    rows = [
        row(D2, 5.0, campaign="c1", impressions=100, clicks=3),
        row(D1, 7.5, currency="EUR"),
        row(D1, 1.0, network="tiktok", country="US"),
    ]
    assert cost_sink.upsert(rows) == (3, 0)
    read = cost_sink.read("a")
    assert [(r["date"], r["network"], r["campaign"], r["country"]) for r in read] == [
        (D1, "meta", None, None),
        (D1, "tiktok", None, "US"),
        (D2, "meta", "c1", None),
    ]
    assert read[0]["currency"] == "EUR"
    assert read[0]["spend"] == 7.5
    assert read[0]["spend_usd"] == pytest.approx(7.5 / 0.92)
    assert (read[2]["impressions"], read[2]["clicks"]) == (100, 3)
    assert read[0]["impressions"] is None
    assert cost_sink.read("other") == []


def test_a_stored_key_is_replaced_and_the_last_row_of_an_upload_wins(cost_sink: Any) -> None:
    assert cost_sink.upsert([row(spend=1.0), row(D2, 2.0)]) == (2, 0)
    assert cost_sink.upsert([row(spend=3.0), row(spend=4.0), row(D1, 9.0, ad="x")]) == (1, 2)
    read = {(r["date"], r["ad"]): r["spend"] for r in cost_sink.read("a")}
    assert read == {(D1, None): 4.0, (D2, None): 2.0, (D1, "x"): 9.0}
    assert cost_sink.upsert([row(spend=4.0)]) == (0, 1)  # the same upload again changes nothing
    assert len(cost_sink.read("a")) == 3


def test_reads_filter_by_date(cost_sink: Any) -> None:
    cost_sink.upsert([row(D1), row(D2), row(dt.date(2026, 10, 3))])
    assert [r["date"] for r in cost_sink.read("a", D2, D2)] == [D2]
    assert [r["date"] for r in cost_sink.read("a", date_from=D2)] == [D2, dt.date(2026, 10, 3)]
    assert [r["date"] for r in cost_sink.read("a", date_to=D1)] == [D1]
    assert cost_sink.upsert([]) == (0, 0)
