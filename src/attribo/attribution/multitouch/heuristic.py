"""Rule-based models: first touch, last touch, linear and position-based (U-shaped)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from attribo.attribution.multitouch._credit import credit_from_touch_weights
from attribo.attribution.multitouch.journeys import FloatArray, Journeys
from attribo.attribution.multitouch.result import Attribution


def first_touch_shares(journeys: Journeys) -> FloatArray:
    """All credit to the first touch of each journey."""
    shares = np.zeros(len(journeys.channel_index))
    shares[journeys.offsets[:-1]] = 1.0
    return shares


def last_touch_shares(journeys: Journeys) -> FloatArray:
    """All credit to the last touch of each journey."""
    shares = np.zeros(len(journeys.channel_index))
    shares[journeys.offsets[1:] - 1] = 1.0
    return shares


def linear_shares(journeys: Journeys) -> FloatArray:
    """Equal credit to every touch (a channel touched twice gets two shares)."""
    return 1.0 / journeys.lengths[journeys.row_of_touch].astype(np.float64)


def position_based_shares(journeys: Journeys, first: float, last: float) -> FloatArray:
    """`first` and `last` to the ends, the rest spread over the middle touches.

    A single touch takes everything; two touches split in proportion first:last (50/50 by
    default) because there is no middle to hold the remainder.
    """
    lengths = journeys.lengths[journeys.row_of_touch]
    position = np.arange(len(journeys.channel_index)) - journeys.offsets[journeys.row_of_touch]
    is_first = position == 0
    is_last = position == lengths - 1
    middle_count = np.maximum(lengths - 2, 1).astype(np.float64)
    shares = np.where(is_first, first, np.where(is_last, last, (1.0 - first - last) / middle_count))
    ends = first + last
    two = lengths == 2
    shares[two] = np.where(is_first[two], first, last) / ends if ends > 0 else 0.5
    shares[lengths == 1] = 1.0
    return shares


@dataclass(frozen=True)
class FirstTouch:
    """First-touch attribution: credits the channel that opened the journey."""

    lookup_name: ClassVar[str] = "first_touch"

    def attribute(self, journeys: Journeys) -> Attribution:
        """Share conversions and value by first touch."""
        return credit_from_touch_weights(self.lookup_name, journeys, first_touch_shares(journeys))


@dataclass(frozen=True)
class LastTouch:
    """Last-touch attribution: credits the channel that closed the journey."""

    lookup_name: ClassVar[str] = "last_touch"

    def attribute(self, journeys: Journeys) -> Attribution:
        """Share conversions and value by last touch."""
        return credit_from_touch_weights(self.lookup_name, journeys, last_touch_shares(journeys))


@dataclass(frozen=True)
class Linear:
    """Linear attribution: every touch counts the same."""

    lookup_name: ClassVar[str] = "linear"

    def attribute(self, journeys: Journeys) -> Attribution:
        """Share conversions and value equally over touches."""
        return credit_from_touch_weights(self.lookup_name, journeys, linear_shares(journeys))


@dataclass(frozen=True)
class PositionBased:
    """Position-based (U-shaped) attribution, 40/20/40 by default."""

    lookup_name: ClassVar[str] = "position_based"
    first_weight: float = 0.4
    last_weight: float = 0.4

    def __post_init__(self) -> None:
        if not (self.first_weight >= 0 and self.last_weight >= 0):
            raise ValueError("first_weight and last_weight must be non-negative")
        if self.first_weight + self.last_weight > 1:
            raise ValueError("first_weight + last_weight must not exceed 1")

    def attribute(self, journeys: Journeys) -> Attribution:
        """Share conversions and value by position in the journey."""
        shares = position_based_shares(journeys, self.first_weight, self.last_weight)
        return credit_from_touch_weights(self.lookup_name, journeys, shares)
