"""`attribo bench fraud`: holdout quality, live scoring latency and the TalkingData AUC.

Holdout: train on one simulated world, judge another seed with other fraud intensities
(`attribo.fraud.holdout`). Latency: the holdout's records are fed to a fresh context in
arrival order, and every install is scored as it arrives (rules, features, model, SHAP
reasons), as the live path does; each install's time is its context update plus its score.
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from attribo.fraud.context import FraudContext
from attribo.fraud.history import simulated_history
from attribo.fraud.holdout import HOLDOUT_FRAUD, evaluate, run_holdout, world
from attribo.fraud.labels import KINDS, fraud_labels
from attribo.fraud.scoring import FraudScorer


def datasets_dir() -> Path:
    """`ATTRIBO_DATASETS`, else ../shared/datasets beside the working directory."""
    return Path(os.environ.get("ATTRIBO_DATASETS") or Path.cwd().parent / "shared" / "datasets")


def live_latency(scorer: FraudScorer, installs: int, seed: int) -> dict[str, Any]:
    """Per-install scoring time in the live view (the past only), milliseconds; and how
    much of the fraud that view alone already flags (the rescan finds the rest)."""
    history = simulated_history(world(seed, installs, HOLDOUT_FRAUD))
    context = FraudContext()
    times: list[float] = []
    cpu: list[float] = []  # this thread's CPU time: the work itself, without preemption
    verdicts = []
    gc.collect()
    gc.freeze()  # as the server does after start-up: the history is long-lived, not garbage
    for record in history.records:
        if record.type != "install":
            context.add(record)
            continue
        start, start_cpu = time.perf_counter(), time.thread_time()
        context.add(record)
        verdicts.append(scorer.score(record, context))
        times.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    gc.unfreeze()
    ms = np.array(times) * 1000
    assert history.truth is not None
    installs_seen = [r for r in history.records if r.type == "install"]
    labels = fraud_labels(installs_seen, history.truth, HOLDOUT_FRAUD.network)
    flagged = np.array([v.verdict != "clean" for v in verdicts])
    live_recall = {
        kind: round(float(flagged[[k == kind for k in labels]].mean()), 4)
        for kind in KINDS
        if kind in labels
    }
    fraud = np.array([k is not None for k in labels])
    return {
        "live_view_recall_by_type": live_recall,
        "live_view_precision": round(float(fraud[flagged].mean()), 4) if flagged.any() else 1.0,
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "p99_cpu_ms": round(float(np.percentile(np.array(cpu) * 1000, 99)), 3),
        "installs_per_s": round(len(ms) / (ms.sum() / 1000), 1),
        "scored_installs": len(ms),
    }


def run_fraud_bench(quick: bool = False, talkingdata: bool = True) -> dict[str, Any]:
    """One JSON-ready object with the figures of issue 5."""
    installs = 5_000 if quick else 20_000
    started = time.perf_counter()
    report, scorer = run_holdout(installs=installs)
    result: dict[str, Any] = live_latency(scorer, installs, seed=23)
    result["holdout_precision"] = round(report.precision, 4)
    result["holdout_recall_by_type"] = {k: round(v, 4) for k, v in report.recall_by_kind.items()}
    result["holdout_clean_rejected_share"] = round(report.clean_rejected_share, 5)
    result["holdout_positives_by_type"] = report.positives_by_kind
    result["holdout_installs"] = report.installs
    rules_only = evaluate(
        simulated_history(world(11, installs, HOLDOUT_FRAUD)), FraudScorer(), HOLDOUT_FRAUD.network
    )
    result["holdout_rules_only_recall_by_type"] = {
        k: round(v, 4) for k, v in rules_only.recall_by_kind.items()
    }
    result["talkingdata_auc"] = None
    path = datasets_dir()
    if talkingdata and (path / "talkingdata" / "train_sample.csv").is_file():
        from attribo.fraud.talkingdata import cross_validate

        cv = cross_validate(path)
        result["talkingdata_auc"] = round(cv.mean, 4)
        result["talkingdata_fold_aucs"] = [round(a, 4) for a in cv.folds]
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result
