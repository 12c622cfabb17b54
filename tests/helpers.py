"""Helpers for tests that talk to a real server (imported as `helpers`, see pythonpath)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


@contextmanager
def recording_network() -> Iterator[tuple[str, list[str]]]:
    """A plain HTTP server on 127.0.0.1 that answers 200 and keeps each GET's path: a network's
    postback endpoint. Yields its base URL and the paths seen so far."""
    seen: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()
