"""Shapley-value attribution over channel sets ("simplified Shapley" for marketing).

The players are the channels; a coalition S is worth the conversions (and value) of the
journeys whose set of channels is a subset of S. Order and repeats within a journey are
ignored. The exact value is computed by enumerating all 2^n coalitions with integer bitmasks:
a subset-sum (zeta) transform gives v(S) for every S, then each channel's marginal
contributions are weighted by |S|!(n-|S|-1)!/n!. Time O(n·2^n), memory O(2^n) floats, which
is instant for n ≤ 15 and about 20 M operations at the default limit of 20 channels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from attribo.attribution.multitouch.journeys import BoolArray, FloatArray, IntArray, Journeys
from attribo.attribution.multitouch.result import Attribution

MAX_CHANNELS = 20


def channel_set_masks(journeys: Journeys, rows: BoolArray) -> tuple[IntArray, IntArray]:
    """The channels touched in the chosen rows, and each row's set of them as a bitmask.

    Bit i of a mask stands for the i-th returned channel index, so the coalition space only
    spans channels that actually occur.
    """
    selected = rows[journeys.row_of_touch]
    players = np.unique(journeys.channel_index[selected])
    if len(players) == 0:
        return players, np.zeros(0, dtype=np.int64)
    if len(players) > 62:
        raise ValueError("at most 62 channels fit in a coalition bitmask")
    player_of_channel = np.zeros(len(journeys.channels), dtype=np.int64)
    player_of_channel[players] = np.arange(len(players))
    bits = np.left_shift(np.int64(1), player_of_channel[journeys.channel_index[selected]])
    starts = np.concatenate(([0], np.cumsum(journeys.lengths[rows])[:-1]))
    return players, np.bitwise_or.reduceat(bits, starts)


def coalition_worth(masks: IntArray, payoff: FloatArray, players: int) -> FloatArray:
    """v(S) for every coalition S: the payoff of journeys whose channel set lies within S."""
    worth = np.bincount(masks, payoff, minlength=1 << players).astype(np.float64)
    for player in range(players):
        # Add each coalition without `player` into the same coalition with it.
        halves = worth.reshape(-1, 2, 1 << player)
        halves[:, 1, :] += halves[:, 0, :]
    return worth


def shapley_values(worth: FloatArray, players: int) -> FloatArray:
    """Exact Shapley values of the game `worth` indexed by coalition bitmask."""
    sizes = np.zeros(1 << players, dtype=np.int64)
    for player in range(players):
        sizes.reshape(-1, 2, 1 << player)[:, 1, :] += 1
    factorial = [math.factorial(k) for k in range(players + 1)]
    weight_by_size = np.array(
        [factorial[s] * factorial[players - s - 1] / factorial[players] for s in range(players)]
    )
    values = np.zeros(players)
    for player in range(players):
        halves = worth.reshape(-1, 2, 1 << player)
        without = sizes.reshape(-1, 2, 1 << player)[:, 0, :]
        gain = halves[:, 1, :] - halves[:, 0, :]
        values[player] = float((weight_by_size[without] * gain).sum())
    return values


@dataclass(frozen=True)
class Shapley:
    """Exact Shapley attribution over channel sets of converting journeys."""

    lookup_name: ClassVar[str] = "shapley"
    max_channels: int = MAX_CHANNELS

    def __post_init__(self) -> None:
        if not (isinstance(self.max_channels, int) and 1 <= self.max_channels <= 30):
            raise ValueError("max_channels must be an integer from 1 to 30 (2^n memory)")

    def attribute(self, journeys: Journeys) -> Attribution:
        """Share conversions and value by each channel's Shapley value."""
        # Only channels seen in converting journeys are players; the rest get zero.
        converting = journeys.conversions > 0
        players, masks = channel_set_masks(journeys, converting)
        if len(players) > self.max_channels:
            raise ValueError(
                f"shapley enumerates 2^channels coalitions; {len(players)} channels exceed the "
                f"limit of {self.max_channels} (group channels, e.g. by network)"
            )
        conversions = np.zeros(len(journeys.channels))
        values = np.zeros(len(journeys.channels))
        for target, payoff in ((conversions, journeys.conversions), (values, journeys.values)):
            worth = coalition_worth(masks, payoff[converting], len(players))
            target[players] = shapley_values(worth, len(players))
        return Attribution(self.lookup_name, journeys.channels, conversions, values)
