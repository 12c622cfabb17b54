"""Invariants over random journeys: every model conserves conversions and value."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from attribo.attribution.multitouch import (
    MODELS,
    AttributionModel,
    Journeys,
    Markov,
    PositionBased,
    Shapley,
    TimeDecay,
)
from attribo.attribution.multitouch.markov import (
    absorption_from_start,
    absorption_without_each_channel,
    build_chain,
)

CHANNELS = "abcdef"


@st.composite
def journeys(draw: st.DrawFn) -> Journeys:
    """Random rows: paths over six channels with repeats, counts, values and touch lags."""
    rows = draw(st.integers(1, 12))
    paths = [draw(st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=6)) for _ in range(rows)]
    conversions = [draw(st.integers(0, 4)) for _ in range(rows)]
    nulls = [draw(st.integers(0, 4)) for _ in range(rows)]
    value = st.floats(0, 1e4, allow_nan=False, allow_subnormal=False)
    values = [draw(value) if c else 0.0 for c in conversions]
    lag = st.floats(0, 1e11, allow_nan=False, allow_subnormal=False)
    lags = [sorted((draw(lag) for _ in path), reverse=True) for path in paths]
    return Journeys.from_paths(paths, conversions, values, nulls, lags_ms=lags)


def configured_models(draw: st.DrawFn) -> list[AttributionModel]:
    """Every registered model, some with drawn settings."""
    first = draw(st.floats(0, 1))
    return [
        *(model() for name, model in MODELS.items() if name not in {"markov", "time_decay"}),
        TimeDecay(half_life_hours=draw(st.floats(1e-3, 1e4))),
        PositionBased(first_weight=first, last_weight=draw(st.floats(0, 1 - first))),
        Markov(order=1),
        Markov(order=2),
        Markov(order=3),
    ]


@settings(max_examples=150, deadline=None)
@given(journeys(), st.data())
def test_every_model_conserves_conversions_and_value(sample: Journeys, data: st.DataObject):
    for model in configured_models(data.draw):
        result = model.attribute(sample)
        assert result.channels == sample.channels
        assert np.all(result.conversions >= 0), model
        assert np.all(result.values >= 0), model
        assert_allclose(result.conversions.sum(), sample.total_conversions, rtol=1e-9, atol=1e-9)
        assert_allclose(result.values.sum(), sample.total_value, rtol=1e-9, atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(journeys())
def test_shapley_equals_an_equal_split_over_each_channel_set(sample: Journeys):
    """The game is a sum of unanimity games, whose Shapley value splits each payoff equally."""
    expected = {channel: [0.0, 0.0] for channel in sample.channels}
    for path, conversions, value in zip(
        sample.paths, sample.conversions, sample.values, strict=True
    ):
        if conversions > 0:
            for channel in set(path):
                expected[channel][0] += conversions / len(set(path))
                expected[channel][1] += value / len(set(path))
    result = Shapley().attribute(sample)
    assert_allclose(result.conversions, [expected[c][0] for c in sample.channels], atol=1e-9)
    assert_allclose(result.values, [expected[c][1] for c in sample.channels], atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(journeys())
def test_markov_order_1_is_blind_to_repeated_touches(sample: Journeys):
    """A first-order chain's absorption does not change when self-loops are collapsed."""
    collapsed = [
        [channel for i, channel in enumerate(path) if i == 0 or path[i - 1] != channel]
        for path in sample.paths
    ]
    deduplicated = Journeys.from_paths(collapsed, sample.conversions, sample.values, sample.nulls)
    assert_allclose(
        Markov().attribute(deduplicated).conversions,
        Markov().attribute(sample).conversions,
        atol=1e-9,
    )


@settings(max_examples=100, deadline=None)
@given(journeys(), st.integers(1, 3))
def test_markov_first_entry_shortcut_equals_solving_each_reduced_chain(sample, order: int):
    """The one-inversion removal formula agrees with a direct solve on the states kept."""
    chain = build_chain(sample, order)
    fast = absorption_without_each_channel(chain, len(sample.channels))
    for channel in range(len(sample.channels)):
        keep = ~np.any(chain.state_keys == channel, axis=1)
        assert_allclose(fast[channel], absorption_from_start(chain, keep), rtol=1e-9, atol=1e-9)
