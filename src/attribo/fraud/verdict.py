"""Verdicts and the reasons behind them: what an ad network is shown for a rejection."""

from __future__ import annotations

from typing import Literal

import msgspec

Severity = Literal["suspicious", "rejected"]
VerdictName = Literal["clean", "suspicious", "rejected"]

# The score a rule hit guarantees: a rejecting rule alone rejects, a warning alone flags.
SEVERITY_SCORE: dict[str, float] = {"suspicious": 60.0, "rejected": 95.0}


class RuleHit(msgspec.Struct, frozen=True):
    """One rule that fired, how serious it is and why, in words an ad network can check."""

    rule: str
    severity: Severity
    reason: str


class Verdict(msgspec.Struct, frozen=True):
    """The verdict on one install: a 0-100 score and its top reasons."""

    install_event_id: str
    verdict: VerdictName
    score: float
    reasons: tuple[str, ...] = ()
    kind: str | None = None  # the fraud kind of the strongest rule hit, if any


def verdict_for(score: float, suspicious_at: float, rejected_at: float) -> VerdictName:
    """Map a score to a verdict at the app's cut-offs."""
    if score >= rejected_at:
        return "rejected"
    if score >= suspicious_at:
        return "suspicious"
    return "clean"
