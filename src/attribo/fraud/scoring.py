"""Scores of 0-100, verdicts and their reasons: rule hits first, then SHAP contributions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from attribo.events.record import StoredEvent
from attribo.fraud.context import FraudContext
from attribo.fraud.datacentre import DataCentreRanges, shipped_ranges
from attribo.fraud.features import FEATURES, install_features
from attribo.fraud.rules import Rule, default_rules
from attribo.fraud.settings import FraudSettings
from attribo.fraud.verdict import SEVERITY_SCORE, RuleHit, Verdict, verdict_for

if TYPE_CHECKING:  # LightGBM loads only when a model is used
    from attribo.fraud.model import FraudModel

MAX_REASONS = 5
MIN_CONTRIBUTION = 0.5  # log-odds a feature must add to be named as a reason
_NAMES = (*FEATURES, "novelty")  # the model's inputs: features, then the novelty score


class FraudScorer:
    """Rules and the model (if any) over one app's context."""

    def __init__(
        self,
        settings: FraudSettings | None = None,
        model: FraudModel | None = None,
        ranges: DataCentreRanges | None = None,
    ) -> None:
        self.settings = settings or FraudSettings()
        self.model = model
        self.ranges = ranges if ranges is not None else shipped_ranges()
        self.rules: list[Rule] = default_rules(self.settings, self.ranges)

    def hits(self, record: StoredEvent, context: FraudContext) -> list[RuleHit]:
        """Every rule that fires on the record."""
        return [hit for rule in self.rules if (hit := rule.check(record, context)) is not None]

    def score(self, record: StoredEvent, context: FraudContext) -> Verdict:
        """The verdict on one install against the context as it is now."""
        return self.score_many([record], context)[0]

    def score_many(self, installs: list[StoredEvent], context: FraudContext) -> list[Verdict]:
        """Verdicts for many installs against one context (the model runs once)."""
        if not installs:
            return []
        hits = [self.hits(record, context) for record in installs]
        probability = np.zeros(len(installs))
        contrib = np.zeros((len(installs), len(_NAMES) + 1))
        x = np.zeros((len(installs), len(FEATURES)))
        if self.model is not None:
            x = np.array(
                [install_features(r, context, self.settings, self.ranges) for r in installs]
            )
            probability = self.model.predict(x)
            # SHAP only where there is a verdict to explain (~1 ms an install; clean ones
            # are the vast majority and an ad network never asks why they were accepted).
            floor = self.settings.suspicious_at / 100
            explain = [i for i in range(len(installs)) if probability[i] >= floor or hits[i]]
            if explain:
                _, contrib[explain] = self.model.explain(x[explain])
        kinds = {rule.name: rule.kind for rule in self.rules}
        out = []
        for i, record in enumerate(installs):
            rule_score = max((SEVERITY_SCORE[h.severity] for h in hits[i]), default=0.0)
            score = round(max(rule_score, 100 * float(probability[i])), 1)
            reasons = [h.reason for h in sorted(hits[i], key=lambda h: h.severity != "rejected")]
            if self.model is not None:
                reasons += _shap_reasons(x[i], contrib[i])
            top = max(hits[i], key=lambda h: SEVERITY_SCORE[h.severity], default=None)
            out.append(
                Verdict(
                    record.event_id,
                    verdict_for(score, self.settings.suspicious_at, self.settings.rejected_at),
                    score,
                    tuple(reasons[:MAX_REASONS]),
                    kinds[top.rule] if top is not None else None,
                )
            )
        return out


def _shap_reasons(row: np.ndarray, contrib: np.ndarray) -> list[str]:
    """The features that pushed the score up most, with their values and contributions."""
    order = np.argsort(-contrib[: len(_NAMES)])
    out = []
    for j in order[:3]:
        if contrib[j] < MIN_CONTRIBUTION:
            break
        value = f"{row[j]:.3g}" if j < len(row) else "unusual for clean installs"
        out.append(f"model: {_NAMES[j]} = {value} (+{contrib[j]:.2f} log-odds)")
    return out


def feed(records: list[StoredEvent], context: FraudContext | None = None) -> FraudContext:
    """A context that has seen the records (the post-attribution view of a window)."""
    context = context if context is not None else FraudContext()
    for record in records:
        context.add(record)
    return context


def feature_matrix(
    installs: list[StoredEvent], context: FraudContext, scorer: FraudScorer
) -> np.ndarray:
    """Feature rows of many installs against one context."""
    return np.array(
        [install_features(r, context, scorer.settings, scorer.ranges) for r in installs]
    ).reshape(len(installs), len(FEATURES))
