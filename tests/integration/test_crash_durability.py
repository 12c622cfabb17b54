"""Acknowledged events survive SIGKILL at any moment, and are stored exactly once."""

from __future__ import annotations

import random
import threading
import time

import httpx
import pytest

from attribo.bench.server import ServerProcess
from helpers import export, make_event


def _sender(
    url: str,
    key: str,
    prefix: str,
    batch: int,
    acked: set[str],
    lock: threading.Lock,
    stop: threading.Event,
) -> None:
    """Send batches (or single events when batch == 1) until stopped or the server dies."""
    sent = 0
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=10) as client:
        while not stop.is_set():
            events = [make_event("crash-app", f"{prefix}-{sent + i}") for i in range(batch)]
            sent += batch
            try:
                if batch == 1:
                    response = client.post(f"{url}/v1/events", json=events[0])
                else:
                    response = client.post(f"{url}/v1/events/batch", json={"events": events})
            except httpx.HTTPError:
                return  # the server was killed mid-request: this batch was never acknowledged
            if response.status_code == 200:
                with lock:
                    acked.update(e["event_id"] for e in events)


@pytest.mark.slow
def test_acknowledged_events_survive_sigkill_under_load(data_dir):
    rng = random.Random(20261125)
    server = ServerProcess(data_dir).start()
    app = server.create_app("crash-app")
    acked: set[str] = set()
    lock = threading.Lock()
    try:
        for cycle in range(4):
            stop = threading.Event()
            threads = [
                threading.Thread(
                    target=_sender,
                    args=(server.url, app["ingest_key"], f"c{cycle}-t{n}", size, acked, lock, stop),
                )
                for n, size in enumerate((200, 200, 50, 1, 1))
            ]
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(0.4, 1.5))
            server.kill()
            stop.set()
            for thread in threads:
                thread.join(30)
            server.start()
        rows = export(server, server.admin_key(), "crash-app")
        stored = [r["event_id"] for r in rows]
        assert len(stored) == len(set(stored)), "an event was stored twice"
        missing = acked - set(stored)
        assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:5]}"
        assert len(acked) > 1000, "the load was too light to mean anything"
        # The dedup memory was rebuilt after the last kill: repeats are recognised.
        sample = sorted(acked)[:100]
        again = httpx.post(
            f"{server.url}/v1/events/batch",
            json={"events": [make_event("crash-app", event_id) for event_id in sample]},
            headers={"Authorization": f"Bearer {app['ingest_key']}"},
        ).json()
        assert again == {"accepted": 100, "duplicates": 100}
    finally:
        assert server.stop() == 0
