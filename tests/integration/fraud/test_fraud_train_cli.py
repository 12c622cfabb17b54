"""`attribo fraud train` end to end: a versioned model directory that the scorer loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from attribo.fraud.model import FraudModel, ModelMismatchError, latest_model


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
