"""The post-attribution pass: judge a window's installs against the whole window.

Source-level patterns (a flat CTIT distribution, a farm's /24 filling up) show only once a
window has been seen; installs judged clean live can then turn out rejected. The rescan
scores every install against the full window's statistics and says which ones are newly
blocked; the fraud report sums blocked installs and the spend they cost.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from attribo.events.record import StoredEvent
from attribo.fraud.context import source_of
from attribo.fraud.scoring import FraudScorer, feed
from attribo.fraud.verdict import Verdict

# CTIT histogram bin edges, seconds: 10 s, 1 min, 10 min, 1 h, 6 h, 24 h, 3 days, 7 days.
CTIT_EDGES_S = (0, 10, 60, 600, 3600, 21_600, 86_400, 259_200, 604_800)


@dataclass
class Rescan:
    """Verdicts on every install of a window, and the ones the live check had let through."""

    verdicts: dict[str, Verdict] = field(default_factory=dict)
    newly_blocked: list[str] = field(default_factory=list)
    installs: list[StoredEvent] = field(default_factory=list)


def rescan(records: list[StoredEvent], scorer: FraudScorer) -> Rescan:
    """Score every install of `records` (arrival order) against all of them."""
    context = feed(records)
    installs = [r for r in records if r.type == "install"]
    verdicts = scorer.score_many(installs, context)
    result = Rescan(installs=installs)
    for record, verdict in zip(installs, verdicts, strict=True):
        result.verdicts[record.event_id] = verdict
        if verdict.verdict == "rejected" and record.attribution != "blocked":
            result.newly_blocked.append(record.event_id)
    return result


def _reason(record: StoredEvent, verdict: Verdict | None) -> str:
    if verdict is not None and verdict.verdict == "rejected":
        return verdict.kind or "model"
    return "blocked live" if record.attribution == "blocked" else "clean"


def fraud_report(result: Rescan, spend: dict[tuple[str, str], float]) -> dict[str, Any]:
    """Blocked installs and blocked spend by network, campaign, site and reason; CTIT bins.

    Blocked spend follows the metrics layer: a campaign's spend times its blocked installs
    over all the installs it claimed (its effective price per claimed install).
    """
    claimed: dict[tuple[str, str], int] = defaultdict(int)
    blocked: list[tuple[StoredEvent, str]] = []
    histograms: dict[tuple[str, str], list[int]] = defaultdict(
        lambda: [0] * (len(CTIT_EDGES_S) - 1)
    )
    for record in result.installs:
        verdict = result.verdicts.get(record.event_id)
        network = record.attributed_network
        if network:
            claimed[(network, record.attributed_campaign or "")] += 1
        if record.attribution == "blocked" or (
            verdict is not None and verdict.verdict == "rejected"
        ):
            blocked.append((record, _reason(record, verdict)))
        source = source_of(record) if record.attribution == "attributed" else None
        if record.attribution == "blocked" and network:
            source = (network, record.attributed_site_id or "")
        if source is not None and record.ctit_ms is not None and record.ctit_ms >= 0:
            bins = histograms[source]
            ctit_s = record.ctit_ms / 1000
            for i in range(len(CTIT_EDGES_S) - 1):
                if ctit_s < CTIT_EDGES_S[i + 1] or i == len(CTIT_EDGES_S) - 2:
                    bins[i] += 1
                    break
    groups: dict[str, dict[tuple[str, ...], list[float]]] = {
        "network": defaultdict(lambda: [0, 0.0]),
        "campaign": defaultdict(lambda: [0, 0.0]),
        "site": defaultdict(lambda: [0, 0.0]),
        "reason": defaultdict(lambda: [0, 0.0]),
    }
    for record, reason in blocked:
        network = record.attributed_network or ""
        campaign = record.attributed_campaign or ""
        key = (network, campaign)
        cost = spend.get(key, 0.0) / claimed[key] if claimed.get(key) else 0.0
        keys: tuple[tuple[str, tuple[str, ...]], ...] = (
            ("network", (network,)),
            ("campaign", (network, campaign)),
            ("site", (network, record.attributed_site_id or "")),
            ("reason", (reason,)),
        )
        for name, by in keys:
            cell = groups[name][by]
            cell[0] += 1
            cell[1] += cost
    columns = {
        "network": ("network",),
        "campaign": ("network", "campaign"),
        "site": ("network", "site_id"),
        "reason": ("reason",),
    }
    out: dict[str, Any] = {
        "installs": len(result.installs),
        "blocked_installs": len(blocked),
        "blocked_spend": round(sum(c[1] for c in groups["network"].values()), 2),
        "newly_blocked": len(result.newly_blocked),
    }
    for name, group in groups.items():
        rows = [
            {
                **dict(zip(columns[name], key, strict=True)),
                "blocked_installs": int(cell[0]),
                "blocked_spend": round(cell[1], 2),
            }
            for key, cell in group.items()
        ]
        out[f"by_{name}"] = sorted(rows, key=lambda r: (-r["blocked_installs"], str(r)))
    out["ctit_edges_s"] = list(CTIT_EDGES_S)
    out["ctit_histograms"] = [
        {"network": n, "site_id": s or None, "installs": sum(b), "counts": b}
        for (n, s), b in sorted(histograms.items())
    ]
    return out
