"""A restart changes nothing: after the live index is rebuilt from the store, every later
event is attributed (or credited) exactly as it would have been without the restart.

Random traffic (every rule: click ids, ad ids, fingerprints, windows and their edges,
re-installs, retargeting clicks and the re-engagements they start, in-app events, repeats
of an install) runs through one attributor; at a random point its records so far are
written to a real DuckDB file, a second attributor is rebuilt from it, and both take the
rest.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attribo.attribution.live import LiveAttributor
from attribo.attribution.restore import restore_live
from attribo.attribution.settings import DAY_MS, AttributionSettings
from attribo.events.record import StoredEvent
from attribo.store.duckdb import DuckDBStore
from attribo.store.schema import records_to_table
from attribution_traffic import build, event_spec

_apps = itertools.count()
# Two network clicks a retargeting one (see `build`), and in-app events besides.
traffic_spec = event_spec | st.tuples(
    st.just("event"),
    st.integers(0, 5),
    st.just("meta"),
    st.none(),
    st.integers(0, 40 * DAY_MS),
    st.just(True),
)


# Two devices, retargeting clicks, opens and in-app events close together: re-engagements
# start before the restart and go on after it.
comeback_spec = st.tuples(
    st.sampled_from(["click", "install", "open", "open", "event", "event"]),
    st.sampled_from([0, 3]),  # two devices with advertising ids
    st.sampled_from(["google_ads", "meta"]),  # google_ads clicks are retargeting clicks
    st.sampled_from([None, "ck1"]),
    st.integers(0, 3 * DAY_MS) | st.sampled_from([DAY_MS, DAY_MS + 1, 30 * DAY_MS]),
    st.just(True),
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    s = DuckDBStore(tmp_path_factory.mktemp("restart") / "events.duckdb")
    yield s
    s.close()


def _after_a_comeback(specs: list[tuple]) -> list[tuple]:
    """An install, a retargeting click and the open it brings back (a re-engagement under
    way), then `specs` in time order."""
    start = [
        ("install", 0, "meta", None, 0, True),
        ("click", 0, "google_ads", None, 3_600_000, True),
        ("open", 0, "meta", None, 3_660_000, True),
    ]
    later = [(*spec[:4], 3_700_000 + spec[4], spec[5]) for spec in specs]
    return start + sorted(later, key=lambda spec: spec[4])


def _differences(got: list[StoredEvent], want: list[StoredEvent]) -> list[tuple]:
    """(event id, field, got, wanted) wherever two runs stamped a record differently."""
    out = []
    for a, b in zip(got, want, strict=True):
        mine, theirs = msgspec.structs.asdict(a), msgspec.structs.asdict(b)
        out += [(a.event_id, k, v, theirs[k]) for k, v in mine.items() if theirs[k] != v]
    return out


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(traffic_spec, min_size=2, max_size=40)
    | st.lists(comeback_spec, min_size=1, max_size=40).map(_after_a_comeback),
    st.integers(0, 1000),
    st.lists(st.integers(0, 39), max_size=3),
    st.booleans(),
)
def test_events_after_a_restart_are_credited_as_without_it(
    store: DuckDBStore, specs, cut, repeats, sorted_in_time
) -> None:
    if sorted_in_time:  # re-engagements need their open soon after the click
        specs = sorted(specs, key=lambda spec: spec[4])
    records = build(f"restart{next(_apps)}", specs)
    cut = 1 + cut % (len(records) - 1)  # at least one record on each side
    before, after = records[:cut], records[cut:]
    # Repeats of installs sent before the restart (a client's retry): the same answer.
    earlier = [r for r in before if r.type == "install"]
    for n, pick in enumerate(repeats):
        if earlier:
            again = msgspec.structs.replace(earlier[pick % len(earlier)], seq=10_000 + n)
            after.append(again)
    for place, record in enumerate(after):
        record.seq = 5_000 + place
    settings_for = {records[0].app_id: AttributionSettings()}
    running = LiveAttributor(dict(settings_for))
    running.observe(before)
    store.write_events(records_to_table(before), "test", 1)

    restarted = LiveAttributor(dict(settings_for))
    restore_live(restarted, store, None, 0, [records[0].app_id])
    without = [msgspec.structs.replace(r) for r in after]
    running.observe(without)
    restarted.observe(after)
    assert _differences(after, without) == []
    for record in after:  # what a later open is answered with
        assert running.latest_install(record.app_id, record) == restarted.latest_install(
            record.app_id, record
        )


def test_the_horizon_ends_at_the_newest_stored_event_of_any_type(store: DuckDBStore) -> None:
    """An in-app event newer than every touch and install moved the horizon before the
    restart; it still has after it, so a late install cannot reach a touch it could not
    reach without the restart."""
    day = DAY_MS
    specs = [
        ("click", 3, "meta", None, 0, True),
        ("install", 3, "meta", None, 60_000, True),
        ("click", 0, "meta", None, 10 * day, True),  # device 0's touch
        ("event", 3, "meta", None, 25 * day, True),  # the newest event time
        ("install", 0, "meta", None, 16 * day, True),  # late: 9 days after the newest
    ]
    records = build(f"restart{next(_apps)}", specs)
    before, after = records[:4], records[4:]
    running = LiveAttributor()
    running.observe(before)
    store.write_events(records_to_table(before), "test", 1)
    restarted = LiveAttributor()
    restore_live(restarted, store, None, 0, [records[0].app_id])
    without = [msgspec.structs.replace(r) for r in after]
    running.observe(without)
    restarted.observe(after)
    assert without[0].attribution == "organic"  # its touch lies behind the horizon
    assert _differences(after, without) == []
