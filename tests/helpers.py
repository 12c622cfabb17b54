"""Helpers for tests that talk to a real server (imported as `helpers`, see pythonpath)."""

from __future__ import annotations

import json
import time

import httpx

from attribo.bench.server import ServerProcess


def now_ms() -> int:
    """Epoch milliseconds now."""
    return time.time_ns() // 1_000_000


def make_event(app_id: str, event_id: str, kind: str = "install", **extra) -> dict:
    """A valid wire-protocol event."""
    event = {"event_id": event_id, "type": kind, "app_id": app_id, "timestamp": now_ms()}
    if kind in ("click", "impression"):
        event["source"] = {"network": "meta", "campaign": "c1"}
    if kind == "event":
        event["name"] = "purchase"
    event.update(extra)
    return event


def wait_stored(server: ServerProcess, timeout_s: float = 30) -> None:
    """Wait until the pipeline has written everything acknowledged into the store."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = httpx.get(f"{server.url}/health").json()
        if body["pipeline_lag_bytes"] == 0:
            return
        time.sleep(0.05)
    raise TimeoutError("pipeline did not catch up")


def export(server: ServerProcess, key: str, app_id: str, **params) -> list[dict]:
    """All exported events of an app (waits for the pipeline first)."""
    wait_stored(server)
    response = httpx.get(
        f"{server.url}/v1/events/export",
        params={"app_id": app_id, **params},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines() if line]
