"""The synthetic traffic is deterministic, valid on the wire, and shaped like real traffic."""

from __future__ import annotations

import ipaddress
from collections import Counter

import msgspec
import pytest

from attribo.bench.traffic import (
    DAY_MS,
    TYPE_WEIGHTS,
    encode_batches,
    encode_singles,
    make_events,
)
from attribo.events.types import Batch, Event

START_MS = 1_760_000_000_000
N = 20_000


@pytest.fixture(scope="module")
def events() -> list[dict]:
    return make_events("bench", N, seed=7, start_ms=START_MS)


def test_same_seed_gives_identical_bytes(events: list[dict]) -> None:
    again = make_events("bench", N, seed=7, start_ms=START_MS)
    assert encode_batches(again) == encode_batches(events)


def test_different_seed_gives_different_events(events: list[dict]) -> None:
    other = make_events("bench", N, seed=8, start_ms=START_MS)
    assert encode_batches(other) != encode_batches(events)
    assert not {e["event_id"] for e in other} & {e["event_id"] for e in events}


def test_event_ids_are_unique(events: list[dict]) -> None:
    ids = [e["event_id"] for e in events]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_type_shares_match_real_traffic(events: list[dict]) -> None:
    counts = Counter(e["type"] for e in events)
    for kind, share in TYPE_WEIGHTS.items():
        assert abs(counts[kind] / N - share) < 0.02, kind


def test_every_event_has_required_fields(events: list[dict]) -> None:
    for e in events:
        assert e["app_id"] == "bench"
        assert START_MS - DAY_MS <= e["timestamp"] < START_MS
        assert e["device"]["platform"] in ("ios", "android", "web")
        assert ipaddress.ip_address(e["device"]["ip"]).is_global
        assert e["device"]["user_agent"]
        if e["type"] in ("click", "impression"):
            assert e["source"]["network"]
        if e["type"] == "event":
            assert e["name"]
        if e.get("name") == "af_purchase":
            assert e["revenue"] > 0 and len(e["currency"]) == 3


def test_events_decode_as_wire_protocol(events: list[dict]) -> None:
    for body in encode_batches(events):
        assert len(msgspec.json.decode(body, type=Batch).events) <= 500
        assert len(body) < 1024 * 1024
    for body in encode_singles(events[:500]):
        msgspec.json.decode(body, type=Event)


def test_device_mix_is_realistic(events: list[dict]) -> None:
    sdk = [e["device"] for e in events if e["type"] in ("install", "open", "event")]
    platforms = Counter(d["platform"] for d in sdk)
    assert 0.58 < platforms["android"] / len(sdk) < 0.72
    ios = [d for d in sdk if d["platform"] == "ios"]
    assert 0.2 < sum("idfa" in d for d in ios) / len(ios) < 0.4
    assert all("idfv" in d for d in ios)
    android = [d for d in sdk if d["platform"] == "android"]
    assert sum("gaid" in d for d in android) / len(android) > 0.85
    assert len({e["source"]["network"] for e in events if "source" in e}) == 6
    assert len({d["model"] for d in sdk}) > 10


def test_batches_split_at_size(events: list[dict]) -> None:
    bodies = encode_batches(events[:1234], size=500)
    sizes = [len(msgspec.json.decode(b)["events"]) for b in bodies]
    assert sizes == [500, 500, 234]
