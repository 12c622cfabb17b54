"""`attribo fraud train`: fit the model on stored history or a simulated world, save it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow.parquet as pq

from attribo.fraud.history import History, simulated_history
from attribo.fraud.holdout import TRAIN_FRAUD, world
from attribo.fraud.labels import fraud_labels
from attribo.fraud.model import FraudModel
from attribo.fraud.scoring import FraudScorer, feature_matrix, feed
from attribo.store.base import EventQuery, Store


def stored_history(store: Store, app_id: str, truth: Path) -> History:
    """An app's stored records (arrival order) with the simulator truth that labels them."""
    chunks = store.iter_records(EventQuery(app_id))  # in arrival order
    records = [record for chunk in chunks for record in chunk]
    return History(records, pq.read_table(truth))


def fit_history(history: History, fraud_network: str, seed: int = 0) -> FraudModel:
    """Fit a model on a labelled history (post-attribution features)."""
    assert history.truth is not None, "training needs labels"
    scorer = FraudScorer()
    installs = [r for r in history.records if r.type == "install"]
    if not installs:
        raise ValueError("no installs in the history: nothing to learn from")
    labels = fraud_labels(installs, history.truth, fraud_network)
    y = np.array([kind is not None for kind in labels], dtype=np.int32)
    if y.sum() == 0 or y.sum() == len(y):
        raise ValueError("the labels are all one class: the model needs clean and fraud installs")
    x = feature_matrix(installs, feed(history.records), scorer)
    return FraudModel(seed=seed).fit(x, y)


def train_and_save(
    history: History, out_root: Path, fraud_network: str, seed: int = 0
) -> dict[str, Any]:
    """Fit, save a new versioned directory under `out_root`, and describe it."""
    model = fit_history(history, fraud_network, seed)
    scorer = FraudScorer()
    path = model.save(out_root, settings=msgspec.to_builtins(scorer.settings))
    return {"model": str(path), **model.info}


def simulated_training(installs: int, seed: int) -> History:
    """A simulated world with the default fraud mix to train on."""
    return simulated_history(world(seed, installs, TRAIN_FRAUD))
