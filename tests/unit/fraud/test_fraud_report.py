"""The fraud report's sums: blocked spend at the campaign's price per claimed install, CTIT bins."""

from __future__ import annotations

from test_fraud_rules import install

from attribo.fraud.rescan import CTIT_EDGES_S, Rescan, fraud_report
from attribo.fraud.verdict import Verdict


def _rescan(rows: list[tuple[float, str, str]]) -> Rescan:
    """Installs with (ctit_s, network, verdict)."""
    result = Rescan()
    for ctit_s, network, verdict in rows:
        record = install(ctit_s, network=network, site="s1")
        record.attributed_campaign = "camp"
        result.installs.append(record)
        kind = "click_injection" if verdict == "rejected" else None
        result.verdicts[record.event_id] = Verdict(record.event_id, verdict, 90.0, (), kind)
        if verdict == "rejected":
            result.newly_blocked.append(record.event_id)
    return result


def test_blocked_spend_is_the_price_per_claimed_install() -> None:
    # 4 installs claimed by "net" for 100 USD, one of them rejected: 25 USD blocked.
    rows = [(5.0, "net", "rejected"), (600.0, "net", "clean"), (900.0, "net", "clean")]
    rows.append((1200.0, "net", "suspicious"))
    report = fraud_report(_rescan(rows), {("net", "camp"): 100.0})
    assert report["blocked_installs"] == 1 and report["blocked_spend"] == 25.0
    assert report["by_reason"] == [
        {"reason": "click_injection", "blocked_installs": 1, "blocked_spend": 25.0}
    ]
    assert report["by_site"][0] == {
        "network": "net",
        "site_id": "s1",
        "blocked_installs": 1,
        "blocked_spend": 25.0,
    }
    assert report["newly_blocked"] == 1


def test_ctit_histogram_bins_follow_the_edges() -> None:
    # One install just under each edge from 10 s up, and one beyond the last edge.
    ctits = [edge - 0.5 for edge in CTIT_EDGES_S[1:]] + [CTIT_EDGES_S[-1] + 100.0]
    report = fraud_report(_rescan([(c, "net", "clean") for c in ctits]), {})
    (hist,) = report["ctit_histograms"]
    assert hist["counts"] == [1] * (len(CTIT_EDGES_S) - 2) + [2]
    assert hist["installs"] == len(ctits) and report["blocked_installs"] == 0
