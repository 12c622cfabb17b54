"""`attribo fraud train` end to end: a versioned model directory that the scorer loads."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from attribo.bench.server import ServerProcess
from attribo.fraud.model import FraudModel, ModelMismatchError, latest_model
from attribo.sim import SimRun, load_params
from attribo.sim.send import send_batches
from helpers import wait_stored


def _train(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "attribo", "fraud", "train", "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.mark.slow
def test_train_on_a_simulated_world_saves_a_loadable_model(tmp_path: Path) -> None:
    done = _train(tmp_path / "models", "--simulate", "3000", "--seed", "3")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    path = Path(summary["model"])
    assert latest_model(tmp_path / "models") == path
    assert summary["positives"] > 0 and summary["rows"] > summary["positives"]
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["settings"]["rejected_at"] == 80.0
    model = FraudModel.load(path)
    assert model.info["version"] == path.name
    manifest["features"] = manifest["features"][::-1]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelMismatchError, match="retrain"):
        FraudModel.load(path)


def test_train_without_a_source_of_labels_is_refused(tmp_path: Path) -> None:
    done = _train(tmp_path / "models")
    assert done.returncode != 0
    assert "--simulate" in done.stderr


@pytest.mark.slow
def test_train_on_stored_history_labelled_by_the_simulator(tmp_path: Path) -> None:
    app = "train.app"
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir).start()
    try:
        made = server.create_app(app)
        params = load_params(installs=2000, days=4, seed=31, app_ids=(app,), start=date(2026, 8, 1))
        with SimRun(params) as run:
            shutil.copy(run.truth_path, tmp_path / "truth.parquet")
            send_batches(
                run.event_batches(),
                server.url,
                {app: made["ingest_key"]},
                {app: made["signing_secret"]},
            )
        wait_stored(server)
    finally:
        assert server.stop() == 0
    done = _train(
        tmp_path / "models",
        "--app",
        app,
        "--truth",
        str(tmp_path / "truth.parquet"),
        "--data-dir",
        str(data_dir),
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["rows"] > 1800 and summary["positives"] > 50
    assert FraudModel.load(Path(summary["model"])).info["rows"] == summary["rows"]
