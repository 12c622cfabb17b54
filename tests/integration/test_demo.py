"""`attribo demo`: serves, loads a simulated month once, prints working keys, exits cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from attribo.bench.server import free_port


def run_demo(data_dir: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    """Start the demo and read stdout until its banner's last line."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "attribo",
            "demo",
            "--installs",
            "400",
            "--days",
            "7",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.strip().startswith("try:"):
            return process, "".join(lines)
    process.kill()
    raise AssertionError("no banner:\n" + "".join(lines))


def stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    code = process.wait(30)
    if process.stdout is not None:
        process.stdout.close()
    return code


def test_demo_loads_once_and_prints_keys_that_work(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "demo-data"
    process, banner = run_demo(data_dir, port)
    try:
        loaded = int(re.search(r"loaded ([\d,]+) events", banner).group(1).replace(",", ""))
        assert loaded > 1000
        admin = re.search(r"admin key\s+(\S+)", banner).group(1)
        app_id = re.search(r"app (\S+): ingest key", banner).group(1)
        url = f"http://127.0.0.1:{port}"
        health = httpx.get(f"{url}/health").json()
        assert health["accepted"] == loaded
        rows = httpx.get(
            f"{url}/v1/attributions",
            params={"app_id": app_id},
            headers={"Authorization": f"Bearer {admin}"},
        ).text.splitlines()
        statuses = {json.loads(r)["status"] for r in rows}
        assert "attributed" in statuses and "organic" in statuses
    finally:
        assert stop(process) == 0
    # A second run serves the same data without loading it again.
    process, banner = run_demo(data_dir, port)
    try:
        assert "loaded" not in banner
        assert httpx.get(f"http://127.0.0.1:{port}/health").json()["dedup_ids"] >= loaded
    finally:
        assert stop(process) == 0
