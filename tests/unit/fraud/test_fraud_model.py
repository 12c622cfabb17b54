"""The ML layer: SHAP contributions against the `shap` package, save/load and refusal."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import shap

from attribo.fraud.features import FEATURES
from attribo.fraud.model import FastIsolation, FraudModel, ModelMismatchError, latest_model


def _data(seed: int = 3, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """Rows where fraud hides in two features, with noise elsewhere."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURES)))
    y = ((x[:, 1] < -0.8) | (x[:, 8] > 1.2)).astype(np.int32)
    return x, y


def test_model_learns_and_its_shap_matches_the_shap_package() -> None:
    x, y = _data()
    model = FraudModel(seed=1).fit(x, y)
    test_x, test_y = _data(seed=4, n=300)
    probability = model.predict(test_x)
    assert probability[test_y == 1].mean() > 0.8 > 0.2 > probability[test_y == 0].mean()
    explained, contrib = model.explain(test_x)
    np.testing.assert_allclose(explained, probability, rtol=1e-6)
    with warnings.catch_warnings():  # shap notes its LightGBM output shape changed once
        warnings.simplefilter("ignore", UserWarning)
        reference = shap.TreeExplainer(model.booster).shap_values(model._with_novelty(test_x))
    reference = reference[1] if isinstance(reference, list) else reference
    np.testing.assert_allclose(contrib[:, :-1], reference, atol=1e-6)
    # The features that carry the signal get the largest contributions.
    top = np.abs(contrib[:, : len(FEATURES)]).mean(axis=0).argsort()[-2:]
    assert set(top.tolist()) == {1, 8}


def test_saved_model_loads_with_the_same_predictions(tmp_path: Path) -> None:
    x, y = _data()
    model = FraudModel(seed=2).fit(x, y)
    path = model.save(tmp_path, settings={"rejected_at": 80})
    assert latest_model(tmp_path) == path
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["features"] == list(FEATURES)
    assert manifest["settings"] == {"rejected_at": 80}
    again = FraudModel.load(path)
    np.testing.assert_allclose(again.predict(x[:50]), model.predict(x[:50]))
    second = model.save(tmp_path)
    assert second != path and latest_model(tmp_path) is not None


def test_a_model_with_other_features_refuses_to_load(tmp_path: Path) -> None:
    x, y = _data()
    path = FraudModel().fit(x, y).save(tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["features"] = [*FEATURES[:-1], "retired_feature"]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelMismatchError, match="retired_feature"):
        FraudModel.load(path)


def test_one_row_novelty_equals_sklearn() -> None:
    x, y = _data()
    model = FraudModel(seed=5).fit(x, y)
    assert model.forest is not None
    fast = FastIsolation(model.forest)
    rows = _data(seed=9, n=200)[0]
    expected = model.forest.score_samples(rows)
    got = np.array([fast.score_row(row.tolist()) for row in rows])
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # The live path (one row) and the batch path give the same probabilities.
    one_by_one = np.array([model.predict(rows[i : i + 1])[0] for i in range(20)])
    np.testing.assert_allclose(one_by_one, model.predict(rows[:20]), rtol=1e-9)
