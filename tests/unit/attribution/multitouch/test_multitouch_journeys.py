"""Journeys: parsing the ChannelAttribution format and per-user touch sequences."""

from __future__ import annotations

import numpy as np
import pytest

from attribo.attribution.multitouch import Journeys, UserJourney

HOUR = 3_600_000


def test_csv_rows_become_paths_and_columns():
    text = (
        "path;total_conversions;total_conversion_value;total_null\n"
        "eta > iota > alpha > eta;1;0.244;3\n"
        "beta;0;0;2\n"
    )
    journeys = Journeys.from_channelattribution_csv(text)
    assert journeys.channels == ("alpha", "beta", "eta", "iota")
    assert journeys.paths == [("eta", "iota", "alpha", "eta"), ("beta",)]
    np.testing.assert_array_equal(journeys.conversions, [1, 0])
    np.testing.assert_array_equal(journeys.values, [0.244, 0])
    np.testing.assert_array_equal(journeys.nulls, [3, 2])
    assert journeys.lags_ms is None
    assert len(journeys) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("a;b;c;d\nx;1;1;1\n", "expected columns"),
        ("path;total_conversions;total_conversion_value;total_null\nx;1;1\n", "line 2"),
        ("path;total_conversions;total_conversion_value;total_null\nx > ;1;1;0\n", "empty channel"),
        ("path;total_conversions;total_conversion_value;total_null\nx;one;1;0\n", "line 2"),
        ("path;total_conversions;total_conversion_value;total_null\nx;-1;0;0\n", "non-negative"),
        ("path;total_conversions;total_conversion_value;total_null\nx;0;5;1\n", "cannot carry"),
    ],
)
def test_bad_csv_fails_with_the_reason(text: str, message: str):
    with pytest.raises(ValueError, match=message):
        Journeys.from_channelattribution_csv(text)


def test_user_journeys_sort_touches_and_measure_lags_back_from_the_conversion():
    journeys = Journeys.from_user_journeys(
        [
            UserJourney([("search", 5 * HOUR), ("video", 1 * HOUR)], 6 * HOUR, value=9.5),
            UserJourney([("video", 2 * HOUR)]),
        ]
    )
    assert journeys.paths == [("video", "search"), ("video",)]
    np.testing.assert_array_equal(journeys.lags_ms, [5 * HOUR, 1 * HOUR, 0])
    np.testing.assert_array_equal(journeys.conversions, [1, 0])
    np.testing.assert_array_equal(journeys.nulls, [0, 1])
    np.testing.assert_array_equal(journeys.values, [9.5, 0])


def test_user_journey_touches_must_precede_the_conversion():
    with pytest.raises(ValueError, match="after the conversion"):
        Journeys.from_user_journeys([UserJourney([("search", 2 * HOUR)], HOUR)])


def test_a_journey_without_touches_is_rejected():
    with pytest.raises(ValueError, match="at least one touch"):
        Journeys.from_paths([["a"], []], [1, 1], [0, 0], [0, 0])
    with pytest.raises(ValueError, match="at least one touch"):
        Journeys.from_user_journeys([UserJourney([], HOUR)])


def test_lags_must_align_with_touches():
    with pytest.raises(ValueError, match="one sequence per path"):
        Journeys.from_paths([["a"]], [1], [0], [0], lags_ms=[])
    with pytest.raises(ValueError, match="lags_ms"):
        Journeys.from_paths([["a", "b"]], [1], [0], [0], lags_ms=[[1.0]])
