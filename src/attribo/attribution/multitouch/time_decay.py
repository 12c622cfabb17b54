"""Time-decay attribution: touches closer to the conversion earn exponentially more credit."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from attribo.attribution.multitouch._credit import credit_from_touch_weights, normalise_per_journey
from attribo.attribution.multitouch.journeys import FloatArray, Journeys
from attribo.attribution.multitouch.result import Attribution

HOUR_MS = 3_600_000.0


def time_decay_shares(journeys: Journeys, half_life_ms: float) -> FloatArray:
    """Weight 2^(-lag / half_life) per touch, normalised per journey."""
    if journeys.lags_ms is None:
        raise ValueError("time_decay needs touch times (build Journeys.from_user_journeys)")
    lags = journeys.lags_ms
    # Measuring from each journey's most recent touch leaves the normalised shares unchanged
    # and keeps the largest weight at exactly 1, so old journeys cannot underflow to 0/0.
    nearest = np.full(len(journeys), np.inf)
    np.minimum.at(nearest, journeys.row_of_touch, lags)
    weights = np.exp2(-(lags - nearest[journeys.row_of_touch]) / half_life_ms)
    return normalise_per_journey(journeys, weights)


@dataclass(frozen=True)
class TimeDecay:
    """Time-decay attribution with a half-life in hours (7 days by default)."""

    lookup_name: ClassVar[str] = "time_decay"
    half_life_hours: float = 168.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.half_life_hours) and self.half_life_hours > 0):
            raise ValueError("half_life_hours must be a positive number")

    def attribute(self, journeys: Journeys) -> Attribution:
        """Share conversions and value by recency of each touch."""
        shares = time_decay_shares(journeys, self.half_life_hours * HOUR_MS)
        return credit_from_touch_weights(self.lookup_name, journeys, shares)
