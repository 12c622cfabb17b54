"""The distributions the simulator's README promises, each within a stated tolerance."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from attribo.sim.devices import ZERO_ID

FAKE = pa.array(["device_farm", "bot", "sdk_spoofing"])


def _genuine(run):
    """First installs by real people (flooding/injection victims included), as a table."""
    t = run.truth
    real = pc.invert(pc.fill_null(pc.is_in(t["fraud_kind"], value_set=FAKE), False))
    return t.filter(pc.and_(real, pc.invert(t["is_reinstall"])))


def _share(mask) -> float:
    return float(np.mean(np.asarray(mask, dtype=bool)))


def _installs_by_id(run) -> dict[str, dict]:
    return {e["event_id"]: e for e in run.events if e["type"] == "install"}


def test_platform_share_follows_country_mix(run):
    countries = run.params.countries
    total = sum(c.share for c in countries)
    expected_ios = sum(c.share * c.ios_share for c in countries) / total
    platform = _genuine(run)["platform"].to_numpy(zero_copy_only=False)
    assert abs(_share(platform == "ios") - expected_ios) < 0.015  # ±1.5 points


def test_att_consent_and_lat_shares(run):
    installs = _installs_by_id(run)
    g = _genuine(run)
    devices = [installs[i]["device"] for i in g["install_event_id"].to_pylist()]
    ios = [d for d in devices if d["platform"] == "ios"]
    android = [d for d in devices if d["platform"] == "android"]
    att = _share([("idfa" in d) for d in ios])
    assert abs(att - run.params.att_consent_share) < 0.02  # default 30 % ± 2 points
    assert all("idfv" in d for d in ios)
    lat = _share([d["limit_ad_tracking"] for d in android])
    assert abs(lat - run.params.lat_share) < 0.012  # default 7 % ± 1.2 points
    for d in android:  # a LAT device sends no usable gaid: none, or all zeros
        if d["limit_ad_tracking"]:
            assert d.get("gaid") in (None, ZERO_ID)
        else:
            assert d["gaid"] != ZERO_ID


def test_organic_and_view_through_shares(run):
    acq = _genuine(run)["acquisition"].to_numpy(zero_copy_only=False)
    assert abs(_share(acq == "organic") - run.params.organic_share) < 0.015
    paid = acq[acq != "organic"]
    assert abs(_share(paid == "view") - run.params.view_through_share) < 0.012


def test_ctit_quantiles_of_click_through_installs(run):
    g = _genuine(run)
    clicks = g.filter(pc.equal(g["acquisition"], "click"))
    ctit = clicks["ctit_s"].to_numpy()
    assert abs(_share(ctit < 3600) - 0.75) < 0.02  # 75 % within 1 h
    assert abs(_share(ctit < 86_400) - 0.94) < 0.012  # 94 % within 24 h
    assert ctit.min() >= run.params.ctit.floor_s
    assert ctit.max() <= 7 * 86_400
    views = g.filter(pc.equal(g["acquisition"], "view"))["ctit_s"].to_numpy()
    assert views.max() <= 86_400


def test_retention_curve(run):
    g = _genuine(run)
    d1 = _share(g["retained_d1"].to_numpy())
    d7 = _share(g["retained_d7"].to_numpy())
    d30 = _share(g["retained_d30"].to_numpy())
    assert 0.34 <= d1 <= 0.40
    assert 0.12 <= d7 <= 0.16
    assert 0.05 <= d30 <= 0.075
    assert d1 > d7 > d30


def test_payers_and_heavy_tailed_revenue(run):
    g = _genuine(run)
    assert abs(_share(g["is_payer"].to_numpy()) - 0.035) < 0.006
    revenue = g["revenue_d30"].to_numpy()
    paying = np.sort(revenue[revenue > 0])[::-1]
    top = paying[: max(1, len(paying) // 10)].sum() / paying.sum()
    assert top > 0.35  # the top 10 % of payers bring over a third of revenue
    assert np.median(paying) < paying.mean()


def test_fraud_mix(run):
    t = run.truth
    n = t.num_rows
    kinds = dict(
        zip(*[c.to_pylist() for c in pc.value_counts(t["fraud_kind"]).flatten()], strict=True)
    )
    fraud = run.params.fraud
    assert abs(kinds["device_farm"] / n - fraud.device_farm_share) < 0.004
    assert abs(kinds["bot"] / n - fraud.bot_share) < 0.003
    assert abs(kinds["sdk_spoofing"] / n - fraud.sdk_spoofing_share) < 0.003
    first = _genuine(run)
    android = _share(first["platform"].to_numpy(zero_copy_only=False) == "android")
    organic = _share(first["acquisition"].to_numpy(zero_copy_only=False) == "organic")
    expected_injection = fraud.click_injection_share * android * first.num_rows
    assert abs(kinds["click_injection"] - expected_injection) < 0.2 * expected_injection
    expected_flooding = fraud.click_flooding_share * organic * first.num_rows
    assert abs(kinds["click_flooding"] - expected_flooding) < 0.2 * expected_flooding


def test_reinstall_and_reengagement_shares(run):
    t = run.truth
    assert 0.015 < _share(t["is_reinstall"].to_numpy()) < 0.035
    assert 0.02 < _share(t["is_reengagement"].to_numpy()) < 0.045
