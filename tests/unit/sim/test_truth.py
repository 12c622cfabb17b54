"""The ground truth agrees with the events it describes."""

from __future__ import annotations

from collections import defaultdict

import pytest

from attribo.sim.devices import ZERO_ID

DAY_MS = 86_400_000


def device_key(device: dict) -> str:
    """Rule 5: the advertising id, else idfv / android_id (lower-cased)."""
    ad_id = device.get("idfa") or device.get("gaid")
    if ad_id and ad_id != ZERO_ID:
        return ad_id.lower()
    return (device.get("idfv") or device.get("android_id") or "").lower()


@pytest.fixture(scope="module")
def by_id(run) -> dict[str, dict]:
    return {e["event_id"]: e for e in run.events}


def test_causal_touches_precede_installs_on_the_same_device(run, by_id):
    rows = run.truth.to_pylist()
    checked = 0
    for row in rows:
        install = by_id[row["install_event_id"]]
        assert install["type"] == "install"
        assert device_key(install["device"]) == row["device_key"]
        for column in ("causal_touch_event_id", "fraud_touch_event_id"):
            touch_id = row[column]
            if touch_id is None:
                continue
            touch = by_id[touch_id]
            assert touch["type"] in ("click", "impression")
            gap = install["timestamp"] - touch["timestamp"]
            window = 7 * DAY_MS if touch["type"] == "click" else DAY_MS
            assert 0 <= gap <= window
            assert touch["device"]["platform"] == install["device"]["platform"]
            if column == "causal_touch_event_id":
                assert touch["source"]["network"] == row["causal_network"]
                assert touch["source"]["campaign"] == row["causal_campaign"]
                assert abs(gap / 1000 - row["ctit_s"]) < 1e-6
            checked += 1
        if row["acquisition"] == "organic":
            assert row["causal_touch_event_id"] is None
    assert checked > len(rows) // 2


def test_match_types_are_what_the_events_allow(run, by_id):
    for row in run.truth.to_pylist():
        if row["match"] is None:
            continue
        install = by_id[row["install_event_id"]]
        touch = by_id[row["causal_touch_event_id"]]
        if row["match"] == "click_id":
            assert install["click_id"] == touch["source"]["click_id"]
        elif row["match"] == "device":
            assert device_key(touch["device"]) == row["device_key"]
            assert install["device"].get("idfa") or install["device"].get("gaid")
        else:
            assert touch["device"]["ip"] == install["device"]["ip"]
            assert touch["device"]["os_version"] == install["device"]["os_version"]
            assert install["timestamp"] - touch["timestamp"] <= DAY_MS


def test_fraud_kinds_look_like_their_kind(run, by_id):
    for row in run.truth.to_pylist():
        kind = row["fraud_kind"]
        if kind is None:
            assert not row["is_fraud"]
            continue
        assert row["is_fraud"]
        install = by_id[row["install_event_id"]]
        touch = by_id[row["fraud_touch_event_id"]]
        assert touch["source"]["network"] == run.params.fraud.network
        gap = install["timestamp"] - touch["timestamp"]
        if kind == "click_injection":
            assert install["device"]["platform"] == "android" and gap <= 60_000
        elif kind == "click_flooding":
            assert row["acquisition"] == "organic" and row["causal_touch_event_id"] is None
        elif kind == "device_farm":
            assert install["device"]["model"] == "SM-A105F"
            assert row["revenue_observed"] == 0 and not row["retained_d1"]
        elif kind == "bot":
            assert not install["device"]["user_agent"].startswith("Mozilla/5.0 (Linux; Android")
            assert "iPhone" not in install["device"]["user_agent"]
    farm_subnets = {
        by_id[r["install_event_id"]]["device"]["ip"].rsplit(".", 1)[0]
        for r in run.truth.to_pylist()
        if r["fraud_kind"] == "device_farm"
    }
    assert len(farm_subnets) <= run.params.fraud.farm_subnets


def test_reinstalls_and_reengagements(run, by_id):
    rows = run.truth.to_pylist()
    for row in rows:
        if row["is_reinstall"]:
            previous = by_id[row["previous_install_event_id"]]
            install = by_id[row["install_event_id"]]
            assert device_key(previous["device"]) == row["device_key"]
            assert previous["timestamp"] < install["timestamp"]
            if row["causal_touch_event_id"]:
                assert by_id[row["causal_touch_event_id"]]["timestamp"] > previous["timestamp"]
        if row["is_reengagement"]:
            touch = by_id[row["reengagement_touch_event_id"]]
            opened = by_id[row["reengagement_open_event_id"]]
            assert touch["type"] == "click" and "rt_" in touch["source"]["campaign"]
            assert opened["type"] == "open"
            assert 0 < opened["timestamp"] - touch["timestamp"] <= DAY_MS
            touch_key = device_key(touch["device"])  # empty: iOS without ATT consent
            assert touch_key in ("", device_key(opened["device"]))
            assert touch["device"]["platform"] == opened["device"]["platform"]


def test_observed_revenue_matches_purchase_events(run):
    spoofed = {r["device_key"] for r in run.truth.to_pylist() if r["fraud_kind"] == "sdk_spoofing"}
    events_revenue: dict[str, float] = defaultdict(float)
    for event in run.events:
        if event.get("name") == "purchase":
            assert event["currency"] == "USD" and event["revenue"] > 0
            events_revenue[device_key(event["device"])] += event["revenue"]
    truth_revenue: dict[str, float] = defaultdict(float)
    for row in run.truth.to_pylist():
        truth_revenue[row["device_key"]] += row["revenue_observed"]
    for key, value in events_revenue.items():
        if key not in spoofed:
            assert truth_revenue[key] == pytest.approx(value, abs=0.011)
    assert sum(truth_revenue.values()) > 0
