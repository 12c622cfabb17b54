"""The click model on the real TalkingData sample (5-fold CV, no look at held-out folds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from attribo.fraud.talkingdata import COUNTS, cross_validate, load_clicks


@pytest.mark.dataset
def test_time_respecting_counts_only_look_back(datasets_dir: Path) -> None:
    frame = load_clicks(datasets_dir)
    assert len(frame) == 100_000 and int(frame["is_attributed"].sum()) == 227
    first = frame.sort_values("click_time", kind="stable").drop_duplicates("ip")
    assert (first["prior_ip"] == 0).all()  # nobody's first click has a past
    busiest = frame["ip"].value_counts().index[0]
    mine = frame[frame["ip"] == busiest].sort_values("click_time", kind="stable")
    assert mine["prior_ip"].tolist() == list(range(len(mine)))
    assert set(COUNTS) <= set(frame.columns)


@pytest.mark.dataset
@pytest.mark.slow
def test_click_model_cross_validated_auc(datasets_dir: Path) -> None:
    result = cross_validate(datasets_dir, folds=5, seed=0)
    assert len(result.folds) == 5
    assert result.mean >= 0.965, result.folds
