"""Golden values for every model on tiny journeys, each worked out by hand in the docstring."""

from __future__ import annotations

import pytest
from numpy.testing import assert_allclose

from attribo.attribution.multitouch import (
    MODELS,
    FirstTouch,
    Journeys,
    LastTouch,
    Linear,
    Markov,
    PositionBased,
    Shapley,
    TimeDecay,
    UserJourney,
    get_model,
    model_settings,
    removal_effects,
)

HOUR = 3_600_000


def credit(result, what="conversions"):
    """Attributed credit as {channel: amount} without zero entries."""
    return {k: v for k, v in result.as_dict(what).items() if v != 0}


def test_heuristics_on_one_path():
    """a > b > a, 1 conversion worth 6: first a; last a; linear a 2/3 (4), b 1/3 (2)."""
    journeys = Journeys.from_paths([["a", "b", "a"]], [1], [6], [0])
    assert credit(FirstTouch().attribute(journeys)) == {"a": 1}
    assert credit(LastTouch().attribute(journeys), "values") == {"a": 6}
    linear = Linear().attribute(journeys)
    assert_allclose(linear.conversions, [2 / 3, 1 / 3])
    assert_allclose(linear.values, [4, 2])


def test_time_decay_golden():
    """Half-life 1 h. Journey 1: a, b, c at 2 h, 1 h, 0 h before a conversion worth 10.

    Weights 2^-2, 2^-1, 2^0 = 1/4, 1/2, 1 sum to 7/4, so shares are 1/7, 2/7, 4/7
    (values 10/7, 20/7, 40/7). Journey 2: a alone, 1 h before a conversion worth 3: a takes all.
    Journey 3 never converts and gives nothing. a = 1/7 + 1 = 8/7, value 10/7 + 3 = 31/7.
    """
    journeys = Journeys.from_user_journeys(
        [
            UserJourney([("a", 0), ("b", HOUR), ("c", 2 * HOUR)], 2 * HOUR, value=10),
            UserJourney([("a", 5 * HOUR)], 6 * HOUR, value=3),
            UserJourney([("c", 0), ("b", HOUR)]),
        ]
    )
    result = TimeDecay(half_life_hours=1).attribute(journeys)
    assert_allclose(result.conversions, [8 / 7, 2 / 7, 4 / 7])
    assert_allclose(result.values, [31 / 7, 20 / 7, 40 / 7])


def test_time_decay_survives_touches_many_half_lives_old():
    """Ten years at a 1 h half-life underflows 2^-lag; the shares must still be 1/3, 2/3."""
    decade = 10 * 365 * 24 * HOUR
    journeys = Journeys.from_user_journeys(
        [UserJourney([("a", 0), ("b", HOUR)], decade + HOUR, value=3)]
    )
    assert_allclose(TimeDecay(half_life_hours=1).attribute(journeys).values, [1, 2])


def test_time_decay_needs_touch_times():
    journeys = Journeys.from_paths([["a"]], [1], [0], [0])
    with pytest.raises(ValueError, match="touch times"):
        TimeDecay().attribute(journeys)


def test_position_based_golden():
    """40/20/40. a>b>c>d (1 conv, 100): a .4, b .1, c .1, d .4 (40, 10, 10, 40).

    a>b (2 conv, 10): no middle, so 50/50: a 1, b 1 (5, 5). c (1 conv, 5): c 1 (5).
    b>a>b (1 conv, 0): b .4 + .4, a .2.
    a = .4 + 1 + .2 = 1.6; b = .1 + 1 + .8 = 1.9; c = .1 + 1 = 1.1; d = .4 (sum 5).
    Values: a 45, b 15, c 15, d 40 (sum 115).
    """
    journeys = Journeys.from_paths(
        [["a", "b", "c", "d"], ["a", "b"], ["c"], ["b", "a", "b"]],
        [1, 2, 1, 1],
        [100, 10, 5, 0],
        [0, 0, 0, 0],
    )
    result = PositionBased().attribute(journeys)
    assert_allclose(result.conversions, [1.6, 1.9, 1.1, 0.4])
    assert_allclose(result.values, [45, 15, 15, 40])


def test_position_based_settings_and_two_touch_split():
    """30/50 ends: a two-touch path splits 30:50 = 3/8, 5/8; middle gets 20 %."""
    journeys = Journeys.from_paths([["a", "b"], ["a", "c", "b"]], [1, 1], [0, 0], [0, 0])
    result = PositionBased(first_weight=0.3, last_weight=0.5).attribute(journeys)
    assert_allclose(result.conversions, [3 / 8 + 0.3, 5 / 8 + 0.5, 0.2])
    with pytest.raises(ValueError, match="exceed 1"):
        PositionBased(first_weight=0.6, last_weight=0.6)


# Journeys for the Markov examples: a>b converts once (value 10), b>a is one null,
# a converts once (value 4) and is null once.
MARKOV_PATHS = [["a", "b"], ["b", "a"], ["a"]]
MARKOV_JOURNEYS = Journeys.from_paths(MARKOV_PATHS, [1, 0, 1], [10, 0, 4], [0, 1, 1])


def test_markov_order_1_golden():
    """States a, b. Start→a 3/4 (a>b weight 1, a weight 2), start→b 1/4.

    a exits to b 1, conversion 1, null 2 (b>a's null and a's null): 1/4, 1/4, 1/2.
    b exits to conversion 1 and to a 1: 1/2 each.
    x_a = 1/4 + x_b/4 and x_b = 1/2 + x_a/2 give x_a = 3/7, x_b = 5/7, so
    P(conv) = 3/4·3/7 + 1/4·5/7 = 1/2 (the observed 2 of 4).
    Without a: 1/4·1/2 = 1/8, effect 3/4. Without b: x_a = 1/4, P = 3/16, effect 5/8.
    Conversions (total 2) split 3/4 : 5/8 = 6 : 5, i.e. 12/11 and 10/11.
    """
    conversion_effects, _ = removal_effects(MARKOV_JOURNEYS, order=1)
    assert_allclose(conversion_effects, [3 / 4, 5 / 8])
    assert_allclose(Markov(order=1).attribute(MARKOV_JOURNEYS).conversions, [12 / 11, 10 / 11])


def test_markov_order_2_golden():
    """States are pairs: (S,a) (a,b) (S,b) (b,a), S the start padding.

    start→(S,a) 3/4, start→(S,b) 1/4; (S,a)→(a,b), →conv, →null 1/3 each; (a,b)→conv 1;
    (S,b)→(b,a)→null. P(conv) = 3/4·(1/3 + 1/3) = 1/2.
    Removing a deletes (S,a), (a,b), (b,a): P = 0, effect 1. Removing b deletes (S,b), (a,b),
    (b,a): P = 3/4·1/3 = 1/4, effect 1/2. Conversions 2 split 1 : 1/2 → 4/3, 2/3.
    Value: (S,a) pays 4 on 1 of 3 exits, (a,b) pays 10, so E = 3/4·(4/3 + 1/3·10) = 7/2;
    without a 0 (effect 1), without b 3/4·4/3 = 1 (effect 5/7). Value 14 split 7 : 5 → 49/6, 35/6.
    """
    result = Markov(order=2).attribute(MARKOV_JOURNEYS)
    assert_allclose(result.details["removal_effect"], [1, 1 / 2])
    assert_allclose(result.details["value_removal_effect"], [1, 5 / 7])
    assert_allclose(result.conversions, [4 / 3, 2 / 3])
    assert_allclose(result.values, [49 / 6, 35 / 6])


def test_markov_order_must_be_1_to_3():
    for order in (0, 4):
        with pytest.raises(ValueError, match="order"):
            Markov(order=order)


def test_shapley_golden():
    """Channel sets {a} 1 conv (value 2), {a,b} 2 (6), {b,c} 1 (3), {a,b,c} 3 (12); {c} null.

    v: a 1, b 0, c 0, ab 3, ac 1, bc 1, abc 7. Weights by |S| (n=3): 1/3, 1/6, 1/6, 1/3.
    a: 1/3·1 + 1/6·(3-0) + 1/6·(1-0) + 1/3·(7-1) = 3.
    b: 1/3·0 + 1/6·(3-1) + 1/6·(1-0) + 1/3·(7-1) = 5/2.
    c: 1/3·0 + 1/6·(1-1) + 1/6·(1-0) + 1/3·(7-3) = 3/2.   (sum 7)
    Values by the same game with payoffs 2, 6, 3, 12: a 2 + 3 + 4 = 9, b 3 + 3/2 + 4 = 17/2,
    c 3/2 + 4 = 11/2 (each journey's payoff split equally over its channel set).
    """
    journeys = Journeys.from_paths(
        [["a", "a"], ["b", "a"], ["c", "b"], ["a", "c", "b"], ["c"]],
        [1, 2, 1, 3, 0],
        [2, 6, 3, 12, 0],
        [0, 0, 0, 0, 5],
    )
    result = Shapley().attribute(journeys)
    assert_allclose(result.conversions, [3, 5 / 2, 3 / 2])
    assert_allclose(result.values, [9, 17 / 2, 11 / 2])


def test_shapley_refuses_too_many_channels():
    journeys = Journeys.from_paths([["a", "b", "c"]], [1], [0], [0])
    with pytest.raises(ValueError, match="3 channels exceed the limit of 2"):
        Shapley(max_channels=2).attribute(journeys)


def test_shapley_ignores_channels_only_in_null_journeys():
    journeys = Journeys.from_paths([["a"], ["z"]], [1, 0], [1, 0], [0, 3])
    assert credit(Shapley().attribute(journeys)) == {"a": 1}


def test_registry_names_every_model_by_its_lookup_name():
    assert set(MODELS) == {
        "first_touch",
        "last_touch",
        "linear",
        "time_decay",
        "position_based",
        "markov",
        "shapley",
    }
    for name, model in MODELS.items():
        assert model.lookup_name == name
    assert model_settings("markov") == {"order": 1}
    assert model_settings("position_based") == {"first_weight": 0.4, "last_weight": 0.4}
    assert get_model("markov", order=2) == Markov(order=2)


def test_registry_errors_list_what_is_accepted():
    with pytest.raises(ValueError, match="choose one of first_touch"):
        get_model("nope")
    with pytest.raises(ValueError, match="accepted: order"):
        get_model("markov", half_life_hours=3)
    with pytest.raises(ValueError, match="accepted: none"):
        get_model("linear", order=1)


def test_rows_are_json_ready_and_sorted_by_credit():
    rows = Markov().attribute(MARKOV_JOURNEYS).rows()
    assert [row["channel"] for row in rows] == ["a", "b"]
    assert set(rows[0]) == {
        "channel",
        "conversions",
        "value",
        "removal_effect",
        "value_removal_effect",
    }
