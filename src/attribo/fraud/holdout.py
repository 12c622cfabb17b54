"""Train on one simulated world, judge on another (other seed, other fraud intensities).

Verdicts are those of the post-attribution pass: each install against the statistics of
its whole window, as the rescan sees them. A flag is `suspicious` or `rejected`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np

from attribo.fraud.history import History, simulated_history
from attribo.fraud.labels import KINDS, fraud_labels
from attribo.fraud.model import FraudModel
from attribo.fraud.scoring import FraudScorer, feature_matrix, feed
from attribo.sim.params import FraudParams, SimParams, load_params

START = date(2026, 1, 1)
TRAIN_FRAUD = FraudParams()
# Other intensities than training: more farms and spoofing, fewer bots, more injection,
# less flooding with bigger floods.
HOLDOUT_FRAUD = FraudParams(
    device_farm_share=0.025,
    bot_share=0.004,
    sdk_spoofing_share=0.01,
    click_injection_share=0.05,
    click_flooding_share=0.05,
    flood_clicks_per_hit=40.0,
    farm_subnets=4,
)


def world(seed: int, installs: int, fraud: FraudParams, days: int = 10) -> SimParams:
    """Simulation parameters of one app over `days` with the given fraud mix."""
    params = load_params(None, installs=installs, days=days, seed=seed, start=START)
    return replace(params, app_ids=("demo.puzzle",), fraud=fraud).validate()


def train_model(history: History, scorer: FraudScorer, seed: int = 0) -> FraudModel:
    """Fit the model on a history's installs, labelled from its truth."""
    assert history.truth is not None, "training needs labels"
    installs = [r for r in history.records if r.type == "install"]
    labels = fraud_labels(installs, history.truth, TRAIN_FRAUD.network)
    y = np.array([kind is not None for kind in labels], dtype=np.int32)
    x = feature_matrix(installs, feed(history.records), scorer)
    return FraudModel(seed=seed).fit(x, y)


@dataclass(frozen=True)
class HoldoutReport:
    """Precision over flagged installs, recall per fraud kind, clean installs rejected."""

    precision: float
    recall_by_kind: dict[str, float]
    clean_rejected_share: float
    flagged: int
    installs: int
    positives_by_kind: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "precision": round(self.precision, 4),
            "recall_by_kind": {k: round(v, 4) for k, v in self.recall_by_kind.items()},
            "clean_rejected_share": round(self.clean_rejected_share, 5),
            "flagged": self.flagged,
            "installs": self.installs,
            "positives_by_kind": self.positives_by_kind,
        }


def evaluate(history: History, scorer: FraudScorer, fraud_network: str) -> HoldoutReport:
    """Score every install of a history after its window and compare with its truth."""
    assert history.truth is not None, "evaluation needs the truth"
    installs = [r for r in history.records if r.type == "install"]
    labels = fraud_labels(installs, history.truth, fraud_network)
    verdicts = scorer.score_many(installs, feed(history.records))
    flagged = np.array([v.verdict != "clean" for v in verdicts])
    rejected = np.array([v.verdict == "rejected" for v in verdicts])
    fraud = np.array([k is not None for k in labels])
    recall: dict[str, float] = {}
    positives: dict[str, int] = {}
    for kind in KINDS:
        mine = np.array([k == kind for k in labels])
        positives[kind] = int(mine.sum())
        recall[kind] = float(flagged[mine].mean()) if mine.any() else float("nan")
    return HoldoutReport(
        precision=float(fraud[flagged].mean()) if flagged.any() else 1.0,
        recall_by_kind=recall,
        clean_rejected_share=float(rejected[~fraud].mean()) if (~fraud).any() else 0.0,
        flagged=int(flagged.sum()),
        installs=len(installs),
        positives_by_kind=positives,
    )


def run_holdout(
    installs: int = 20_000, train_seed: int = 7, holdout_seed: int = 11
) -> tuple[HoldoutReport, FraudScorer]:
    """Train on one world, evaluate on another; returns the report and the trained scorer."""
    scorer = FraudScorer()
    train = simulated_history(world(train_seed, installs, TRAIN_FRAUD))
    scorer.model = train_model(train, scorer)
    holdout = simulated_history(world(holdout_seed, installs, HOLDOUT_FRAUD))
    return evaluate(holdout, scorer, HOLDOUT_FRAUD.network), scorer
