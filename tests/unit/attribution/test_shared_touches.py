"""Touches another worker read reach an install through the shared rows as if read here.

Random traffic of one app is split between two attributors the way a device-partitioned
stream splits it (by `device_partition_key`); every touch also goes into a dict standing in
for the shared index, and each install is observed with what that index holds for its keys.
Every decision must equal the one of a single attributor over the whole stream.
"""

from __future__ import annotations

from collections import defaultdict

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from attribo.attribution.live import (
    LiveAttributor,
    device_partition_key,
    shared_lookup_keys,
    shared_touch_rows,
)
from attribo.events.record import StoredEvent
from attribo.log.base import partition_of

T0 = 1_700_000_000_000
HOUR = 3_600_000


def _event(i: int, kind: str, device: int, click: int, ip: int, hours: int) -> StoredEvent:
    return StoredEvent(
        app_id="one.app",
        event_id=f"e{i}",
        type=kind,
        event_time=T0 + hours * HOUR + i,
        received_at=T0 + hours * HOUR + i,
        seq=i + 1,
        platform="android",
        os_version="14",
        gaid=f"g{device}" if device >= 0 else None,
        ip=f"10.0.0.{ip}",
        click_id=f"k{click}" if click >= 0 else None,
        network=f"net{i % 3}" if kind in ("click", "impression") else None,
    )


events = st.lists(
    st.tuples(
        st.sampled_from(["click", "click", "impression", "install", "open"]),
        st.integers(-1, 5),  # device (-1: none, a web click)
        st.integers(-1, 4),  # click id
        st.integers(0, 3),  # ip
        st.integers(0, 200),  # hours after T0 (under the lateness: no horizon cuts)
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(events)
def test_split_by_device_with_a_shared_index_decides_as_one_process(spec) -> None:  # type: ignore[no-untyped-def]
    stream = [_event(i, *fields) for i, fields in enumerate(spec)]
    oracle = LiveAttributor()
    expected = oracle.observe([_copy(r) for r in stream])

    workers = [LiveAttributor(), LiveAttributor()]
    shared: dict[tuple[str, str], list[bytes]] = defaultdict(list)
    got = []
    for record in stream:
        worker = workers[partition_of(device_partition_key(record), 2)]
        found = {k: shared[k] for k in shared_lookup_keys([record]) if shared.get(k)}
        got.extend(worker.observe([record], found))
        for app_id, key, _, packed in shared_touch_rows([record]):
            shared[(app_id, key)].append(packed)
    assert [_decided(d) for d in got] == [_decided(d) for d in expected]


def _copy(record: StoredEvent) -> StoredEvent:
    return msgspec.structs.replace(record)


def _decided(decision: object) -> object:
    if decision is None:
        return None
    touch = decision.touch  # type: ignore[attr-defined]
    return (
        decision.status,  # type: ignore[attr-defined]
        decision.match,  # type: ignore[attr-defined]
        decision.reinstall,  # type: ignore[attr-defined]
        touch.event_id if touch is not None else None,
    )


def test_rows_carry_every_key_an_install_looks_up() -> None:
    click = _event(0, "click", 1, 2, 3, 0)
    install = _event(1, "install", 1, 2, 3, 1)
    keys = {(app, key) for app, key, _, _ in shared_touch_rows([click])}
    assert set(shared_lookup_keys([install])) == keys  # click id, gaid and fingerprint
    blocked = _copy(click)
    blocked.attribution = "blocked"
    assert shared_touch_rows([blocked]) == []  # a blocked touch is never a candidate
