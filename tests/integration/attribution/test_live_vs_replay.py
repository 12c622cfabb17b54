"""One rule set, three implementations that must agree on random traffic.

Live (`LiveAttributor`, incremental, in arrival order), replay (set-based SQL on a real
DuckDB file, written in random batch sizes) and a brute-force oracle written here from the
rules' text. Traffic is drawn to hit every rule: shared click ids, ad ids and fingerprints,
ties in time, out-of-order event times, re-installs inside and outside the re-attribution
window, touches just inside and just outside each window, per-network windows.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attribo.attribution.live import LiveAttributor
from attribo.attribution.replay import replay_attribution
from attribo.attribution.rules import LATENESS_MS, advertising_id, device_key
from attribo.attribution.settings import DAY_MS, HOUR_MS, AttributionSettings, Windows
from attribo.events.record import StoredEvent
from attribo.store.duckdb import DuckDBStore
from attribo.store.schema import records_to_table
from attribution_traffic import build, event_spec

SETTINGS = AttributionSettings(
    networks={"tiktok": Windows(click_ms=2 * DAY_MS, view_ms=6 * HOUR_MS, fingerprint_ms=HOUR_MS)}
)
_apps = itertools.count()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    s = DuckDBStore(tmp_path_factory.mktemp("replay") / "events.duckdb")
    yield s
    s.close()


def oracle(records: list[StoredEvent], s: AttributionSettings) -> dict[str, tuple]:
    """Rules v1 read literally: scan every earlier touch for each install."""
    out: dict[str, tuple] = {}
    previous: dict[str, int] = {}  # device -> event time of its latest install
    watermark = -(1 << 62)
    for i, rec in enumerate(records):
        watermark = max(watermark, rec.event_time)
        if rec.type != "install":
            continue
        key = device_key(rec)
        prev = previous.get(key) if key else None
        after = prev if prev is not None and rec.event_time - prev <= s.reattribution_ms else None
        floor = watermark - s.max_lookback_ms - LATENESS_MS
        best = None
        for touch in records[:i]:
            if touch.type not in ("click", "impression"):
                continue
            w = s.windows_for(touch.network)
            gap = rec.event_time - touch.event_time
            if touch.event_time < floor or (after is not None and touch.event_time <= after):
                continue
            matches = []
            if touch.type == "click" and rec.click_id and touch.click_id == rec.click_id:
                matches.append((0, w.click_ms))
            ad = advertising_id(rec)
            if ad and ad == (touch.idfa if rec.platform == "ios" else touch.gaid):
                matches.append((1, w.click_ms if touch.type == "click" else w.view_ms))
            if (
                touch.type == "click"
                and rec.ip
                and (touch.ip, touch.platform, touch.os_version)
                == (rec.ip, rec.platform, rec.os_version)
            ):
                matches.append((2, min(w.click_ms, w.fingerprint_ms)))
            for rank, window in matches:
                if 0 <= gap <= window:
                    order = (rank, touch.type != "click", -touch.event_time, touch.event_id)
                    if best is None or order < best[0]:
                        best = (order, touch)
                    break
        if best is None:
            out[rec.event_id] = ("organic", None, None, None, None, prev is not None)
        else:
            (rank, *_), touch = best
            out[rec.event_id] = (
                "attributed",
                touch.network,
                ("click_id", "device", "fingerprint")[rank],
                touch.event_id,
                rec.event_time - touch.event_time,
                prev is not None,
            )
        if key:
            previous[key] = rec.event_time
    return out


def oracle_opens(records: list[StoredEvent], s: AttributionSettings) -> dict[str, tuple]:
    """Rules 6 and 7 read literally: what each open carries (status, network, install)."""
    out: dict[str, tuple] = {}
    installs: dict[str, tuple[int, str, str | None, str]] = {}  # device -> (t, status, net, id)
    again: dict[str, tuple[int, str | None]] = {}  # device -> (started, network)
    decided = oracle(records, s)
    watermark = -(1 << 62)
    for i, rec in enumerate(records):
        watermark = max(watermark, rec.event_time)
        key = device_key(rec)
        if rec.type == "install":
            if key:
                status, network = decided[rec.event_id][:2]
                installs[key] = (rec.event_time, status, network, rec.event_id)
            continue
        if rec.type != "open":
            continue
        install = installs.get(key) if key else None
        if install is None or key is None:
            out[rec.event_id] = (None, None, None)
            continue
        floor = watermark - s.max_lookback_ms - LATENESS_MS
        best = None
        for touch in records[:i]:
            if touch.type != "click" or not touch.retargeting:
                continue
            if touch.event_time <= install[0] or touch.event_time < floor:
                continue
            if not 0 <= rec.event_time - touch.event_time <= s.reengagement_click_ms:
                continue
            ad = advertising_id(rec)
            if rec.click_id and touch.click_id == rec.click_id:
                rank = 0
            elif ad and ad == (touch.idfa if rec.platform == "ios" else touch.gaid):
                rank = 1
            else:
                continue
            order = (rank, -touch.event_time, touch.event_id)
            if best is None or order < best[0]:
                best = (order, touch)
        if best is not None:
            again[key] = (rec.event_time, best[1].network)
            out[rec.event_id] = ("reengagement", best[1].network, install[3])
            continue
        active = again.get(key)
        if active is not None and 0 <= rec.event_time - active[0] <= s.reengagement_duration_ms:
            out[rec.event_id] = ("reengagement", active[1], install[3])
        else:
            out[rec.event_id] = (install[1], install[2], install[3])
    return out


def live_results(records: list[StoredEvent], s: AttributionSettings, cuts: list[int]) -> dict:
    return live_run(records, s, cuts)[0]


def live_run(
    records: list[StoredEvent], s: AttributionSettings, cuts: list[int]
) -> tuple[dict, list[StoredEvent]]:
    """Live decisions, and the records as the collector stores them (stamped)."""
    attributor = LiveAttributor({records[0].app_id: s} if records else {})
    fresh = [replace_record(r) for r in records]
    for start, stop in zip([0, *cuts], [*cuts, len(fresh)], strict=True):
        attributor.observe(fresh[start:stop])
    return install_decisions(fresh), fresh


def install_decisions(records: list[StoredEvent]) -> dict[str, tuple]:
    """What stamped install records say, in the oracle's shape."""
    return {
        r.event_id: (
            r.attribution,
            r.attributed_network,
            r.match_type,
            r.touch_event_id,
            r.ctit_ms,
            r.reinstall,
        )
        for r in records
        if r.type == "install"
    }


def replace_record(record: StoredEvent) -> StoredEvent:
    return StoredEvent(**{f: getattr(record, f) for f in record.__struct_fields__})


def replay_results(
    store: Any, records: list[StoredEvent], s, cuts: list[int], fresh_app: bool = False
) -> dict:
    if fresh_app:  # the same traffic again under another app id
        app = f"app{next(_apps)}"
        records = [replace_record(r) for r in records]
        for r in records:
            r.app_id = app
    offset = store.consumer_offset("test") or 0
    for start, stop in zip([0, *cuts], [*cuts, len(records)], strict=True):
        offset += 1
        store.write_events(records_to_table(records[start:stop]), "test", offset)
    table = replay_attribution(store, s, records[0].app_id)
    return {
        row["install_event_id"]: (
            row["status"],
            row["network"],
            row["match"],
            row["touch_event_id"],
            row["ctit_ms"],
            row["reinstall"],
        )
        for row in table.to_pylist()
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(event_spec, min_size=1, max_size=40),
    st.lists(st.integers(1, 39), max_size=4),
    st.sampled_from([SETTINGS, AttributionSettings(), replace(SETTINGS, reattribution_ms=DAY_MS)]),
    st.booleans(),
)
def test_live_replay_and_oracle_agree(store: DuckDBStore, specs, cuts, rules, in_order) -> None:
    if in_order:  # realistic traffic arrives about in time order; the rest is shuffled
        specs = sorted(specs, key=lambda spec: spec[4])
    records = build(f"app{next(_apps)}", specs)
    cuts = sorted({c for c in cuts if c < len(records)})
    expected = oracle(records, rules)
    live, stamped = live_run(records, rules, cuts)
    assert live == expected
    opens = {
        r.event_id: (r.attribution, r.attributed_network, r.install_event_id)
        for r in stamped
        if r.type == "open"
    }
    assert opens == oracle_opens(records, rules)
    # The replay reads what the collector stored, with other rules too (what-if).
    assert replay_results(store, stamped, rules, cuts) == expected
    what_if = replace(rules, windows=Windows(click_ms=DAY_MS, view_ms=HOUR_MS))
    assert replay_results(store, stamped, what_if, cuts, fresh_app=True) == oracle(stamped, what_if)


def test_a_touch_arriving_after_the_install_is_not_a_candidate(store: DuckDBStore) -> None:
    # Same event times; only arrival order differs.
    records = build(
        f"app{next(_apps)}",
        [("install", 0, "meta", "ck1", 100, True), ("click", 0, "meta", "ck1", 50, True)],
    )
    assert live_results(records, SETTINGS, [])[records[0].event_id][0] == "organic"
    assert replay_results(store, records, SETTINGS, [])[records[0].event_id][0] == "organic"


reengagement_spec = st.tuples(
    st.sampled_from(["click", "install", "open", "open", "event"]),
    st.sampled_from([0, 3]),  # two devices with advertising ids
    st.sampled_from(["google_ads", "meta"]),  # google_ads clicks are retargeting clicks
    st.sampled_from([None, "ck1"]),
    st.integers(0, 3 * DAY_MS) | st.sampled_from([DAY_MS, DAY_MS + 1, 30 * DAY_MS]),
    st.just(True),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(reengagement_spec, min_size=2, max_size=30))
def test_reengagement_agrees_with_the_oracle(specs) -> None:
    records = build(f"app{next(_apps)}", sorted(specs, key=lambda spec: spec[4]))
    _, stamped = live_run(records, SETTINGS, [])
    got = {
        r.event_id: (r.attribution, r.attributed_network, r.install_event_id)
        for r in stamped
        if r.type == "open"
    }
    assert got == oracle_opens(records, SETTINGS)


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The cluster profile's store, in process (chDB): its replay is ClickHouse SQL."""
    pytest.importorskip("chdb", reason="chdb is in the cluster extra")
    from attribo.store.clickhouse import ClickHouseStore

    s = ClickHouseStore.from_url(f"chdb://{tmp_path_factory.mktemp('house')}", "replay")
    yield s
    s.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(event_spec, min_size=1, max_size=40),
    st.lists(st.integers(1, 39), max_size=4),
    st.sampled_from([SETTINGS, AttributionSettings(), replace(SETTINGS, reattribution_ms=DAY_MS)]),
)
def test_the_clickhouse_replay_agrees_with_the_oracle(house, specs, cuts, rules) -> None:
    # `attribo attribute --rebuild` on the cluster profile: the same rules in ClickHouse SQL.
    records = build(f"app{next(_apps)}", sorted(specs, key=lambda spec: spec[4]))
    cuts = sorted({c for c in cuts if c < len(records)})
    _, stamped = live_run(records, rules, cuts)
    assert replay_results(house, stamped, rules, cuts) == oracle(stamped, rules)
    what_if = replace(rules, windows=Windows(click_ms=DAY_MS, view_ms=HOUR_MS))
    assert replay_results(house, stamped, what_if, cuts, fresh_app=True) == oracle(stamped, what_if)


def test_both_replays_give_the_same_rows_over_several_apps(store: DuckDBStore, house) -> None:
    specs = [  # one of each outcome: (kind, device, network, click id, time offset, ad id)
        ("impression", 0, "meta", None, 0, True),
        ("install", 0, "meta", None, HOUR_MS, True),  # device, impression
        ("click", 3, "tiktok", None, 0, True),
        ("install", 3, "meta", None, HOUR_MS, True),  # device, click
        ("click", 2, "meta", None, 0, False),
        ("install", 2, "meta", None, HOUR_MS, True),  # fingerprint
        ("click", 5, "google_ads", "ck2", 0, False),
        ("install", 5, "meta", "ck2", 3 * HOUR_MS, True),  # click id
        ("install", 4, "meta", None, 5 * HOUR_MS, True),  # organic
        ("click", 0, "tiktok", None, DAY_MS, True),
        ("install", 0, "meta", None, 2 * DAY_MS, True),  # re-install, attributed again
    ]
    for n in range(3):  # three apps, all replayed at once (app_id None)
        app = f"multi{n}-{next(_apps)}\\'q"  # a backslash and a quote: literals per engine
        records = build(app, sorted(specs, key=lambda spec: (spec[4], n)))
        _, stamped = live_run(records, SETTINGS, [])
        for target in (store, house):
            target.write_events(records_to_table(stamped), f"multi{n}", 1)
    apps = [f"multi{n}" for n in range(3)]
    duck = [r for r in replay_attribution(store, SETTINGS).to_pylist() if r["app_id"][:6] in apps]
    ch = [r for r in replay_attribution(house, SETTINGS).to_pylist() if r["app_id"][:6] in apps]
    assert len(duck) == 3 * sum(s[0] == "install" for s in specs) > 0
    assert sorted(duck, key=str) == sorted(ch, key=str)
    assert {(r["status"], r["match"], r["touch_type"], r["reinstall"]) for r in ch} == {
        ("attributed", "device", "impression", False),
        ("attributed", "device", "click", False),
        ("attributed", "fingerprint", "click", False),
        ("attributed", "click_id", "click", False),
        ("organic", None, None, False),
        ("attributed", "device", "click", True),
    }
    for app in {r["app_id"] for r in duck}:  # one app at a time: its id in the SQL
        one = replay_attribution(house, SETTINGS, app).to_pylist()
        assert one == replay_attribution(store, SETTINGS, app).to_pylist()
        assert len(one) == len(duck) // 3


# Each window's edge, one touch per app: (name, touch, its install, the window that decides).
# Devices: 0 ios with an ad id, 2 ios whose touches carry none (fingerprint), 5 android.
# Defaults are rules v1's figures; tiktok's are the per-network windows of SETTINGS.
TIKTOK = SETTINGS.networks["tiktok"]
WINDOW_EDGES = [
    ("click id", ("click", 5, "meta", "ck1", 0, False), ("install", 5, "meta", "ck1"), 7 * DAY_MS),
    ("device click", ("click", 0, "meta", None, 0, True), ("install", 0, "meta", None), 7 * DAY_MS),
    ("impression", ("impression", 0, "meta", None, 0, True), ("install", 0, "meta", None), DAY_MS),
    ("fingerprint", ("click", 2, "meta", None, 0, False), ("install", 2, "meta", None), DAY_MS),
    ("tt click", ("click", 0, "tiktok", None, 0, True), ("install", 0, "x", None), TIKTOK.click_ms),
    (
        "tt view",
        ("impression", 0, "tiktok", None, 0, True),
        ("install", 0, "x", None),
        TIKTOK.view_ms,
    ),
    (
        "tt fp",
        ("click", 2, "tiktok", None, 0, False),
        ("install", 2, "x", None),
        TIKTOK.fingerprint_ms,
    ),
]


@pytest.mark.parametrize("engine", ["store", "house"])
def test_every_window_includes_its_edge_and_not_one_ms_more(
    engine: str, request: pytest.FixtureRequest
) -> None:
    # Random offsets rarely land on an edge; here every window is probed at it and just past.
    target = request.getfixturevalue(engine)
    for name, touch, install, window in WINDOW_EDGES:
        for gap, expected in ((window, "attributed"), (window + 1, "organic")):
            records = build(f"edge{next(_apps)}", [touch, (*install, gap, True)])
            live, stamped = live_run(records, SETTINGS, [])
            got = replay_results(target, stamped, SETTINGS, [])
            assert got == live == oracle(stamped, SETTINGS), name
            assert [status for status, *_ in got.values()] == [expected], (name, gap)


@pytest.mark.parametrize("engine", ["store", "house"])
def test_the_reattribution_window_includes_its_edge_and_not_one_ms_more(
    engine: str, request: pytest.FixtureRequest
) -> None:
    # A click, an install it wins, a re-install of the device: inside the re-attribution
    # window only touches after the first install count, so the old click no longer does.
    target = request.getfixturevalue(engine)
    rules = replace(SETTINGS, reattribution_ms=DAY_MS)
    for gap, expected in ((DAY_MS, "organic"), (DAY_MS + 1, "attributed")):
        specs = [
            ("click", 0, "meta", None, 0, True),
            ("install", 0, "meta", None, HOUR_MS, True),
            ("install", 0, "meta", None, HOUR_MS + gap, True),
        ]
        records = build(f"edge{next(_apps)}", specs)
        live, stamped = live_run(records, rules, [])
        got = replay_results(target, stamped, rules, [])
        assert got == live == oracle(stamped, rules)
        again = got[records[2].event_id]
        assert (again[0], again[-1]) == (expected, True), gap
