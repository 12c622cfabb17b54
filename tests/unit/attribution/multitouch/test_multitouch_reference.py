"""Agreement with the ChannelAttribution reference on its real 10,000-path journey data."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from attribo.attribution.multitouch import MODELS, Journeys, Markov, Shapley, get_model

pytestmark = pytest.mark.dataset

TOTAL_CONVERSIONS = 19_785
TOTAL_VALUE = 74_802.972
# reference_results.csv is printed with 6 decimals, so a figure like mi's linear 2.222222 (exactly
# 20/9) is only known to ±5e-7; that rounding is allowed on top of the relative tolerance.
PRINTED = 5e-7


@pytest.fixture(scope="module")
def journeys(datasets_dir: Path) -> Journeys:
    """Data.csv parsed once."""
    text = (datasets_dir / "channelattribution" / "Data.csv").read_text()
    return Journeys.from_channelattribution_csv(text)


@pytest.fixture(scope="module")
def reference(datasets_dir: Path, journeys: Journeys) -> dict[str, np.ndarray]:
    """reference_results.csv columns, reordered to `journeys.channels`."""
    with (datasets_dir / "channelattribution" / "reference_results.csv").open() as file:
        rows = {row["channel_name"]: row for row in csv.DictReader(file)}
    assert set(rows) == set(journeys.channels)
    columns = next(iter(rows.values())).keys() - {"channel_name"}
    return {
        column: np.array([float(rows[channel][column]) for channel in journeys.channels])
        for column in columns
    }


def test_the_data_has_the_documented_totals(journeys: Journeys):
    assert len(journeys) == 10_000
    assert len(journeys.channels) == 12
    assert journeys.total_conversions == TOTAL_CONVERSIONS
    assert journeys.total_value == pytest.approx(TOTAL_VALUE, abs=1e-3)
    assert journeys.nulls.sum() == 68_602


@pytest.mark.parametrize(
    ("model", "column"),
    [("first_touch", "first_touch"), ("last_touch", "last_touch"), ("linear", "linear_touch")],
)
def test_heuristics_equal_the_reference(journeys, reference, model: str, column: str):
    result = get_model(model).attribute(journeys)
    assert_allclose(result.conversions, reference[f"{column}_conversions"], 1e-9, PRINTED)
    assert_allclose(result.values, reference[f"{column}_value"], rtol=1e-9, atol=PRINTED)


def test_exact_first_order_markov_equals_the_reference(journeys, reference):
    result = Markov(order=1).attribute(journeys)
    effects = result.details["removal_effect"]
    assert_allclose(effects, reference["removal_effect_exact"], rtol=1e-6, atol=PRINTED)
    assert_allclose(result.conversions, reference["markov_exact_conversions"], rtol=1e-6)


def test_markov_value_is_close_to_the_simulated_reference(journeys, reference):
    """The reference value column is Monte Carlo (seeds move it by about ±5 %), so only the
    channels carrying most of the value are compared, loosely."""
    result = Markov(order=1).attribute(journeys)
    large = reference["markov_sim_seed0_value"] > 4_000
    assert large.sum() >= 5
    assert_allclose(result.values[large], reference["markov_sim_seed0_value"][large], rtol=0.05)


@pytest.mark.parametrize("order", [2, 3])
def test_higher_order_markov_runs_and_conserves(journeys, order: int):
    result = Markov(order=order).attribute(journeys)
    assert result.conversions.sum() == pytest.approx(TOTAL_CONVERSIONS, rel=1e-9)
    assert result.values.sum() == pytest.approx(TOTAL_VALUE, abs=1e-3)
    assert np.all(result.details["removal_effect"] > 0)


@pytest.mark.parametrize("name", sorted(set(MODELS) - {"time_decay"}))
def test_every_model_conserves_and_is_fast_on_the_real_data(journeys, name: str):
    """Target is under 2 s per model; the bound is loose so a busy machine does not flake."""
    models = [Markov(order=o) for o in (1, 2, 3)] if name == "markov" else [get_model(name)]
    for model in models:
        started = time.perf_counter()
        result = model.attribute(journeys)
        elapsed = time.perf_counter() - started
        assert elapsed < 10, f"{model} took {elapsed:.2f} s"
        assert result.conversions.sum() == pytest.approx(TOTAL_CONVERSIONS, rel=1e-9)
        assert result.values.sum() == pytest.approx(TOTAL_VALUE, abs=1e-3)


def test_shapley_uses_all_twelve_channels(journeys):
    result = Shapley().attribute(journeys)
    assert np.count_nonzero(result.conversions) == 12
