"""Turn per-touch weights into per-channel credit: the core of every path-weighting model."""

from __future__ import annotations

import numpy as np

from attribo.attribution.multitouch.journeys import FloatArray, Journeys
from attribo.attribution.multitouch.result import Attribution


def normalise_per_journey(journeys: Journeys, weights: FloatArray) -> FloatArray:
    """Scale flat per-touch weights so each journey's touches sum to 1."""
    totals = np.bincount(journeys.row_of_touch, weights, minlength=len(journeys))
    return weights / totals[journeys.row_of_touch]


def credit_from_touch_weights(model: str, journeys: Journeys, shares: FloatArray) -> Attribution:
    """Give each touch `share` of its journey's conversions and value (shares sum to 1/journey)."""
    rows = journeys.row_of_touch
    size = len(journeys.channels)
    credit = [
        np.bincount(journeys.channel_index, shares * column[rows], minlength=size).astype(
            np.float64
        )
        for column in (journeys.conversions, journeys.values)
    ]
    return Attribution(model, journeys.channels, credit[0], credit[1])
