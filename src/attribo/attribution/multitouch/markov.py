"""Markov-chain attribution by removal effect, solved exactly on the absorbing chain.

States are the last `order` channels seen (padded with a start marker). Every journey walks
start → its states → conversion or null, and each step is counted with the journey's weight
(conversions + nulls; the final step with conversions to "conversion" and nulls to "null").
Removing a channel deletes every state that contains it, which sends the probability flowing
into those states to null. The removal effect of a channel is the relative drop in the
probability of converting from start (and in the expected conversion value); attributed
credit is the removal effects rescaled to the observed totals.

Cost: one dense inversion over the observed states S (about 1,000 for order 3 with a dozen
channels) plus one solve per channel over the states it touches: O(S³ + Σ|R_c|³) time,
O(S²) memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from attribo.attribution.multitouch.journeys import BoolArray, FloatArray, IntArray, Journeys
from attribo.attribution.multitouch.result import Attribution

MAX_ORDER = 3
START = -1  # padding marker in state keys


@dataclass(frozen=True, eq=False)
class AbsorbingChain:
    """Transition probabilities between transient states (state 0 is start)."""

    transitions: FloatArray  # Q: state → state, shape (S, S)
    to_conversion: FloatArray  # P(state → conversion), shape (S,)
    to_value: FloatArray  # expected value collected on the step state → conversion
    state_keys: IntArray  # channel indices in each state, START for padding, shape (S, order)


def state_keys_per_touch(journeys: Journeys, order: int) -> IntArray:
    """The `order` most recent channels at each touch, oldest first, START-padded."""
    touches = len(journeys.channel_index)
    position = np.arange(touches) - journeys.offsets[journeys.row_of_touch]
    keys = np.full((touches, order), START, dtype=np.int64)
    for back in range(order):
        # Column order-1 is the current touch; column order-1-back is `back` touches earlier.
        inside = position >= back
        source = np.arange(touches)[inside] - back
        keys[inside, order - 1 - back] = journeys.channel_index[source]
    return keys


def build_chain(journeys: Journeys, order: int) -> AbsorbingChain:
    """Count weighted transitions of every journey and normalise them into probabilities."""
    weight = journeys.conversions + journeys.nulls
    keys = state_keys_per_touch(journeys, order)
    # Encode each key as one integer so np.unique works on a flat array.
    base = len(journeys.channels) + 1
    codes = ((keys + 1) * base ** np.arange(order - 1, -1, -1)).sum(axis=1)
    unique_codes, inverse = np.unique(codes, return_inverse=True)
    state_of_touch = inverse.reshape(-1) + 1  # 0 is start
    size = len(unique_codes) + 1

    rows = journeys.row_of_touch
    is_first = np.zeros(len(state_of_touch), dtype=bool)
    is_first[journeys.offsets[:-1]] = True
    previous = np.concatenate(([0], state_of_touch[:-1]))
    previous[is_first] = 0
    counts = np.bincount(previous * size + state_of_touch, weight[rows], minlength=size * size)
    counts = counts.reshape(size, size)
    last = state_of_touch[journeys.offsets[1:] - 1]
    conversions = np.bincount(last, journeys.conversions, minlength=size)
    values = np.bincount(last, journeys.values, minlength=size)
    nulls = np.bincount(last, journeys.nulls, minlength=size)

    outflow = counts.sum(axis=1) + conversions + nulls
    # States seen only in weightless journeys have no outflow; they are never entered with
    # positive probability, so making them absorb into null changes nothing.
    scale = np.divide(1.0, outflow, out=np.zeros(size), where=outflow > 0)
    state_keys = np.full((size, order), START, dtype=np.int64)
    state_keys[state_of_touch] = keys
    return AbsorbingChain(
        transitions=counts * scale[:, None],
        to_conversion=conversions * scale,
        to_value=values * scale,
        state_keys=state_keys,
    )


def absorption_from_start(chain: AbsorbingChain, keep: BoolArray | None = None) -> FloatArray:
    """P(conversion) and expected value from start, optionally on the states in `keep` only."""
    q, r = chain.transitions, np.column_stack((chain.to_conversion, chain.to_value))
    if keep is not None:
        q, r = q[np.ix_(keep, keep)], r[keep]
    solved = np.linalg.solve(np.eye(len(q)) - q, r)
    return np.asarray(solved[0], dtype=np.float64)


def absorption_without_each_channel(chain: AbsorbingChain, channels: int) -> FloatArray:
    """P(conversion) and expected value from start with each channel removed, shape (C, 2).

    One inversion serves every channel. With N = (I - Q)^-1 and h = N r the absorption from
    each state, a walk from start that enters the removed states R first does so at state i
    with probability f_i, where N[start, R] = f · N[R, R]; so the walk that avoids R collects
    h[start] - f · h[R] = h[start] - N[start, R] · N[R, R]^-1 · h[R]. The solves are only
    |R|-sized, against C full-size solves for the direct method (`absorption_from_start`).
    """
    fundamental = np.linalg.inv(np.eye(len(chain.transitions)) - chain.transitions)
    absorbed = fundamental @ np.column_stack((chain.to_conversion, chain.to_value))
    result = np.tile(absorbed[0], (channels, 1))
    for channel in range(channels):
        removed = np.flatnonzero(np.any(chain.state_keys == channel, axis=1))
        if len(removed):
            block = fundamental[np.ix_(removed, removed)]
            entry = np.linalg.solve(block, absorbed[removed])
            result[channel] -= fundamental[0, removed] @ entry
    return result


def removal_effects(journeys: Journeys, order: int = 1) -> tuple[FloatArray, FloatArray]:
    """Relative drop in P(conversion) and in expected value when each channel is removed."""
    if not 1 <= order <= MAX_ORDER:
        raise ValueError(f"order must be between 1 and {MAX_ORDER}")
    chain = build_chain(journeys, order)
    base = absorption_from_start(chain)
    without = absorption_without_each_channel(chain, len(journeys.channels))
    # Removing states can only lose probability; clip rounding noise below zero.
    effects = np.clip(
        1.0 - np.divide(without, base, out=np.ones_like(without), where=base > 0), 0, 1
    )
    return effects[:, 0].copy(), effects[:, 1].copy()


def _rescale(effects: FloatArray, total: float) -> FloatArray:
    """Removal effects as shares of `total`; all zero when nothing converted."""
    mass = effects.sum()
    return effects * (total / mass) if mass > 0 else np.zeros_like(effects)


@dataclass(frozen=True)
class Markov:
    """Markov removal-effect attribution of order 1 to 3, computed exactly."""

    lookup_name: ClassVar[str] = "markov"
    order: int = 1

    def __post_init__(self) -> None:
        if not (isinstance(self.order, int) and 1 <= self.order <= MAX_ORDER):
            raise ValueError(f"order must be an integer between 1 and {MAX_ORDER}")

    def attribute(self, journeys: Journeys) -> Attribution:
        """Share conversions and value in proportion to each channel's removal effect."""
        conversion_effects, value_effects = removal_effects(journeys, self.order)
        return Attribution(
            self.lookup_name,
            journeys.channels,
            _rescale(conversion_effects, journeys.total_conversions),
            _rescale(value_effects, journeys.total_value),
            details={
                "removal_effect": conversion_effects,
                "value_removal_effect": value_effects,
            },
        )
