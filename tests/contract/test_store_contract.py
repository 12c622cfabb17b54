"""The `Store` contract: idempotent writes with the consumer offset, filtered reads, restart."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
import pytest

from attribo.attribution.restore import newest_event_ms
from attribo.events.record import STORED_FIELDS, StoredEvent
from attribo.store.base import EventQuery
from attribo.store.schema import records_to_table

T0 = 1_760_000_000_000  # epoch ms

if TYPE_CHECKING:  # a fixture type only: test dirs are not packages
    from conftest import StoreOpener


def ev(event_id: str, app: str = "a", type_: str = "install", at: int = 0, **kw) -> StoredEvent:
    return StoredEvent(
        app_id=app,
        event_id=event_id,
        type=type_,
        event_time=T0 + at - 5,
        received_at=T0 + at,
        **kw,
    )


def write(store, records: list[StoredEvent], offset: int, consumer: str = "store") -> int:
    return store.write_events(records_to_table(records), consumer, offset)


def test_fresh_store_is_empty(open_store: StoreOpener) -> None:
    store = open_store()
    assert store.count_events() == 0
    assert store.consumer_offset("store") is None
    assert list(store.recent_keys(0)) == []
    assert list(store.iter_events(EventQuery("a"))) == []


def test_each_event_is_stored_once(open_store: StoreOpener) -> None:
    store = open_store()
    assert write(store, [ev("1"), ev("2"), ev("1", at=3)], 10) == 2  # repeat inside a batch
    assert write(store, [ev("2"), ev("3")], 20) == 1  # repeat across batches
    assert write(store, [ev("1", app="b")], 30) == 1  # same id, other app: a different event
    assert store.count_events() == 4
    assert store.count_events("a") == 3
    assert store.count_events("b") == 1
    assert store.count_events("nobody") == 0


def test_within_a_batch_the_first_received_copy_wins(open_store: StoreOpener) -> None:
    store = open_store()
    write(store, [ev("1", at=9, name="late"), ev("1", at=1, name="early")], 1)
    [row] = next(store.iter_events(EventQuery("a")))
    assert row["name"] == "early"


def test_offset_moves_with_the_write_even_when_nothing_is_new(open_store: StoreOpener) -> None:
    store = open_store()
    write(store, [ev("1")], 100)
    assert store.consumer_offset("store") == 100
    assert write(store, [ev("1")], 200) == 0
    assert store.consumer_offset("store") == 200
    assert write(store, [], 300) == 0
    assert store.consumer_offset("store") == 300
    write(store, [ev("2")], 7, consumer="other")
    assert store.consumer_offset("other") == 7
    assert store.consumer_offset("store") == 300


def test_fields_round_trip(open_store: StoreOpener) -> None:
    store = open_store()
    record = ev(
        "r",
        type_="event",
        platform="android",
        gaid="3f2b",
        ip="81.2.69.160",
        country="GB",
        limit_ad_tracking=True,
        network="meta",
        name="purchase",
        revenue=4.99,
        currency="USD",
        properties='{"sku":"gems"}',
        signed=True,
    )
    write(store, [record], 1)
    [row] = next(store.iter_events(EventQuery("a")))
    assert (row["event_time"], row["received_at"]) == (T0 - 5, T0)  # epoch ms, as written
    for field in ("platform", "gaid", "ip", "country", "network", "name", "currency"):
        assert row[field] == getattr(record, field)
    assert row["revenue"] == pytest.approx(4.99)
    assert row["limit_ad_tracking"] is True
    assert row["signed"] is True
    assert row["properties"] == '{"sku":"gems"}'
    assert row["idfa"] is None


_NOT_TEXT = (
    "event_time",
    "received_at",
    "seq",
    "revenue",
    "ctit_ms",
    "watermark",
    "limit_ad_tracking",
)


def test_records_read_back_exactly_as_written(open_store: StoreOpener) -> None:
    """`iter_records` gives back every field, with its type (a bool stays a bool)."""
    store = open_store()
    full = StoredEvent(
        **{
            name: True if isinstance(getattr(ev("x"), name), bool) else f"v-{name}"
            for name in STORED_FIELDS
            if name not in _NOT_TEXT
        }
        | {"app_id": "a", "event_id": "full", "type": "install"},
        event_time=T0 - 5,
        received_at=T0,
        seq=7,
        revenue=4.99,
        ctit_ms=1234,
        watermark=T0 + 1,
        limit_ad_tracking=False,
    )
    bare = ev("bare", type_="click", at=10)  # defaults: NULLs, False, 0
    write(store, [full, bare], 1)
    [chunk] = list(store.iter_records(EventQuery("a")))
    assert [msgspec.json.encode(r) for r in chunk] == [
        msgspec.json.encode(r)
        for r in (bare, full)  # arrival order: seq 0, then 7
    ]
    assert chunk == [bare, full]
    assert [type(getattr(chunk[1], f)) for f in ("signed", "limit_ad_tracking", "revenue")] == [
        bool,
        bool,
        float,
    ]


def test_queries_filter_by_app_type_and_received_time(open_store: StoreOpener) -> None:
    store = open_store()
    records = [
        ev(f"{i}", type_=("click", "install", "event")[i % 3], at=i * 1000) for i in range(30)
    ] + [ev("other", app="b", type_="click", at=5000)]
    write(store, records, 1)

    def ids(query: EventQuery, chunk_rows: int = 10_000) -> list[str]:
        return [r["event_id"] for chunk in store.iter_events(query, chunk_rows) for r in chunk]

    assert ids(EventQuery("a")) == [f"{i}" for i in range(30)]  # received order
    assert ids(EventQuery("a", types=("click",))) == [f"{i}" for i in range(0, 30, 3)]
    assert ids(EventQuery("a", types=("click", "event"))) == [
        f"{i}" for i in range(30) if i % 3 != 1
    ]
    window = EventQuery("a", since_ms=T0 + 5000, until_ms=T0 + 9000)  # since inclusive, until not
    assert ids(window) == ["5", "6", "7", "8"]
    assert ids(EventQuery("b")) == ["other"]
    chunks = list(store.iter_events(EventQuery("a"), chunk_rows=7))
    assert [len(c) for c in chunks] == [7, 7, 7, 7, 2]
    # records: the same filters, order and chunks
    for query in (EventQuery("a", types=("click", "event")), window, EventQuery("nobody")):
        assert [r.event_id for c in store.iter_records(query) for r in c] == ids(query)
    assert [len(c) for c in store.iter_records(EventQuery("a"), chunk_rows=7)] == [7, 7, 7, 7, 2]


def test_query_adds_the_opens_that_started_a_reengagement(open_store: StoreOpener) -> None:
    """Only the open a re-engagement starts with says how it matched: it is read, the opens
    it credits later and the other opens are not."""
    store = open_store()
    write(
        store,
        [
            ev("click", type_="click", at=0),
            ev("start", type_="open", at=1, attribution="reengagement", match_type="device"),
            ev("credited", type_="open", at=2, attribution="reengagement"),
            ev("plain", type_="open", at=3, attribution="organic"),
            ev("buy", type_="event", at=4, attribution="reengagement"),
            ev("b-open", app="b", type_="open", at=5, attribution="reengagement", match_type="d"),
        ],
        1,
    )
    query = EventQuery("a", types=("click",), reengagement_opens=True)
    assert [r.event_id for c in store.iter_records(query) for r in c] == ["click", "start"]
    assert [r["event_id"] for c in store.iter_events(query) for r in c] == ["click", "start"]


def test_newest_event_time_of_an_app(open_store: StoreOpener) -> None:
    """What a restored live index takes its horizon from: any type counts, other apps not."""
    store = open_store()
    assert newest_event_ms(store, "a") is None
    write(store, [ev("1", type_="click", at=0), ev("2", type_="event", at=900)], 1)
    write(store, [ev("3", app="b", at=5000)], 2)
    assert newest_event_ms(store, "a") == T0 + 900 - 5
    assert newest_event_ms(store, "nobody") is None


def test_recent_keys_since(open_store: StoreOpener) -> None:
    store = open_store()
    write(store, [ev("old", at=0), ev("new", at=10_000), ev("x", app="b", at=20_000)], 1)
    assert sorted(store.recent_keys(T0 + 10_000)) == [("a", "new"), ("b", "x")]
    assert sorted(store.recent_keys(T0)) == [("a", "new"), ("a", "old"), ("b", "x")]


def test_events_and_offsets_survive_reopen(open_store: StoreOpener) -> None:
    store = open_store()
    write(store, [ev("1"), ev("2")], 42)
    store = open_store()  # closes the first
    assert store.count_events() == 2
    assert store.consumer_offset("store") == 42
    assert write(store, [ev("2"), ev("3")], 43) == 1
