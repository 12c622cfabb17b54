"""SKAdNetwork postbacks through the real server: Apple's samples verify, tampered ones are kept
apart, and the report counts only what verified."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from attribo.bench.server import ServerProcess


@pytest.mark.dataset
def test_postbacks_verify_and_only_verified_ones_count(
    server: ServerProcess, datasets_dir: Path
) -> None:
    app = server.create_app("skan-app")
    auth = {"Authorization": f"Bearer {app['ingest_key']}"}
    url = f"{server.url}/v1/skan/postbacks"
    samples = datasets_dir / "skadnetwork"
    good = json.loads((samples / "valid" / "com.example-4.0.json").read_text())
    answer = httpx.post(url, json=good, headers=auth)
    assert answer.status_code == 200 and answer.json()["verified"] is True
    repeat = httpx.post(url, json=good, headers=auth)
    assert repeat.json()["duplicate"] is True
    tampered = json.loads((samples / "invalid" / "tampered-transaction-id.json").read_text())
    refused = httpx.post(url, json=tampered, headers=auth)
    assert refused.status_code == 202 and refused.json()["verified"] is False
    broken = httpx.post(url, json={"version": "4.0"}, headers=auth)
    assert broken.status_code == 400

    report = httpx.get(
        f"{server.url}/v1/reports/skan",
        params={"app_id": "skan-app"},
        headers={"Authorization": f"Bearer {server.admin_key()}"},
    ).json()
    assert (report["installs"], report["unverified"]) == (1, 1)
