"""The ML layer: LightGBM on per-install features plus an IsolationForest for novelty.

The IsolationForest learns what clean installs look like; its anomaly score is one more
input to the gradient-boosted model, which turns everything into a fraud probability.
SHAP contributions come from LightGBM's own TreeSHAP (`pred_contrib`), which matches the
`shap` package's TreeExplainer and costs a fraction of a millisecond per install.
A saved model is a directory: booster, forest, and a manifest with the feature list and
settings; loading one whose features differ from the code's refuses.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import joblib
import lightgbm as lgb
import numpy as np
from sklearn.ensemble import IsolationForest

from attribo.fraud.features import FEATURES

MODEL_FORMAT = 1
NOVELTY = "novelty"


class ModelMismatchError(ValueError):
    """A saved model was trained on other features than this code computes."""


class FraudModel:
    """Gradient boosting over the features and an IsolationForest's novelty score."""

    lookup_name = "lightgbm_isolation"

    def __init__(self, params: dict[str, Any] | None = None, seed: int = 0) -> None:
        self.params = {
            "objective": "binary",
            "learning_rate": 0.05,
            "num_leaves": 15,
            "min_data_in_leaf": 20,
            "feature_fraction": 0.9,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambda_l2": 1.0,
            "num_threads": 1,
            "verbose": -1,
            "seed": seed,
            **(params or {}),
        }
        self.seed = seed
        self.rounds = 200
        self.booster: lgb.Booster | None = None
        self.forest: IsolationForest | None = None
        self.features: tuple[str, ...] = FEATURES
        self.info: dict[str, Any] = {}

    def _with_novelty(self, x: np.ndarray) -> np.ndarray:
        assert self.forest is not None, "fit or load the model first"
        novelty = -self.forest.score_samples(x)  # higher = more unusual
        return np.column_stack([x, novelty])

    def fit(self, x: np.ndarray, y: np.ndarray) -> FraudModel:
        """Train the forest on clean rows, then the booster on all rows with novelty."""
        x = np.asarray(x, dtype=np.float64)
        clean = x[y == 0]
        self.forest = IsolationForest(n_estimators=50, random_state=self.seed).fit(clean)
        data = lgb.Dataset(self._with_novelty(x), label=y, feature_name=[*self.features, NOVELTY])
        self.booster = lgb.train(self.params, data, num_boost_round=self.rounds)
        self.info = {"rows": len(y), "positives": int(y.sum())}
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Fraud probability per row."""
        assert self.booster is not None, "fit or load the model first"
        return np.asarray(self.booster.predict(self._with_novelty(np.asarray(x, float))))

    def explain(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and SHAP contributions (log-odds; last column is the base value)."""
        assert self.booster is not None, "fit or load the model first"
        full = self._with_novelty(np.asarray(x, float))
        contrib = np.asarray(self.booster.predict(full, pred_contrib=True))
        margin = contrib.sum(axis=1)
        return 1 / (1 + np.exp(-margin)), contrib

    # -- persistence ------------------------------------------------------------------
    def save(self, root: Path, settings: dict[str, Any] | None = None) -> Path:
        """Write a new versioned directory under `root`; returns it."""
        assert self.booster is not None and self.forest is not None, "fit the model first"
        version = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = root / f"fraud-model-{version}"
        suffix = 1
        while path.exists():
            suffix += 1
            path = root / f"fraud-model-{version}-{suffix}"
        path.mkdir(parents=True)
        self.booster.save_model(str(path / "booster.txt"))
        joblib.dump(self.forest, path / "novelty.joblib")
        manifest = {
            "format": MODEL_FORMAT,
            "kind": self.lookup_name,
            "version": path.name,
            "features": list(self.features),
            "params": self.params,
            "rounds": self.rounds,
            "settings": settings or {},
            "info": self.info,
        }
        (path / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
        return path

    @classmethod
    def load(cls, path: Path) -> FraudModel:
        """Load a saved model; refuse one trained on other features than `FEATURES`."""
        manifest = json.loads((path / "manifest.json").read_text())
        if manifest.get("format") != MODEL_FORMAT or manifest.get("kind") != cls.lookup_name:
            raise ModelMismatchError(f"{path} is not a {cls.lookup_name} model of format 1")
        saved = tuple(manifest["features"])
        if saved != FEATURES:
            missing = sorted(set(FEATURES) - set(saved))
            extra = sorted(set(saved) - set(FEATURES))
            raise ModelMismatchError(
                f"model {manifest['version']} was trained on other features "
                f"(missing {missing}, unknown {extra}, or another order): retrain it with "
                "`attribo fraud train`"
            )
        model = cls(manifest["params"])
        model.booster = lgb.Booster(model_file=str(path / "booster.txt"))
        if tuple(model.booster.feature_name()) != (*FEATURES, NOVELTY):
            raise ModelMismatchError(f"{path}: booster features differ from its manifest")
        model.forest = joblib.load(path / "novelty.joblib")
        model.info = {**manifest.get("info", {}), "version": manifest["version"]}
        return model


def latest_model(root: Path) -> Path | None:
    """The newest saved model directory under `root`, if any."""
    found = sorted(p for p in root.glob("fraud-model-*") if (p / "manifest.json").is_file())
    return found[-1] if found else None
