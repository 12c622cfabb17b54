"""Traffic and read-backs shared by the cluster end-to-end tests (one server or split)."""

from __future__ import annotations

import json
import random
import time

import httpx

from attribo.bench.server import ServerProcess
from helpers import make_event, now_ms, wait_stored


def traffic(app_id: str, seed: int, devices: int = 40, n: int = 400) -> list[dict]:
    """Clicks, impressions, installs and purchases over the last two hours, in send order."""
    rng = random.Random(seed)
    base = now_ms() - 2 * 3_600_000
    events = []
    for i in range(n):
        kind = rng.choice(["click", "click", "impression", "install", "event"])
        device = rng.randrange(devices)
        platform = "ios" if device % 2 else "android"
        ids = {"idfa": f"{device:08d}-aaaa"} if platform == "ios" else {"gaid": f"g-{device:06d}"}
        extra: dict = {
            "device": {"platform": platform, "ip": f"10.1.0.{device % 5}", **ids},
            "timestamp": base + i * 10_000,
        }
        if kind in ("click", "impression"):
            extra["source"] = {"network": rng.choice(["meta", "tiktok"]), "campaign": "c1"}
        if kind == "event":
            extra["revenue"] = 2.5
            extra["currency"] = "USD"
        events.append(make_event(app_id, f"{kind}-{i}", kind, **extra))
    return events


def send(server: ServerProcess, key: str, events: list[dict]) -> list[dict]:
    """Post each event alone (installs answer with their live attribution)."""
    answers = []
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=10) as client:
        for event in events:
            response = client.post(f"{server.url}/v1/events", json=event)
            assert response.status_code == 200, response.text
            answers.append(response.json())
    return answers


def attributions(
    server: ServerProcess, app_id: str, pipeline: ServerProcess | None = None
) -> list[dict]:
    """The attribution export, once `pipeline` (the process whose /health has the lag) is done."""
    wait_stored(pipeline or server)
    response = httpx.get(
        f"{server.url}/v1/attributions",
        params={"app_id": app_id},
        headers={"Authorization": f"Bearer {server.admin_key()}"},
    )
    assert response.status_code == 200, response.text
    return sorted((json.loads(line) for line in response.text.splitlines()), key=str)


def report(server: ServerProcess, app_id: str, metric: str) -> dict:
    """One metric by network over yesterday and today (the traffic spans the last 2 hours)."""
    day = 86_400
    response = httpx.get(
        f"{server.url}/v1/reports/aggregate",
        params={
            "app_id": app_id,
            "metrics": metric,
            "dimensions": "network",
            "from": time.strftime("%Y-%m-%d", time.gmtime(time.time() - day)),
            "to": time.strftime("%Y-%m-%d", time.gmtime()),
        },
        headers={"Authorization": f"Bearer {server.admin_key()}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


# Reports over one base, then over several (conversion_rate: installs over clicks).
REPORTED = ("installs", "clicks", "impressions", "revenue", "cost", "cpm", "conversion_rate")


def send_batches(  # type: ignore[no-untyped-def]
    url: str, key: str, prefix: str, acked: set[str], lock, stop, tries: int = 1
) -> None:
    """Send batches of `crash.app` events until stopped; remember what was acknowledged.

    A request that fails is sent again up to `tries` times in all (a killed collector: the
    retry reaches another); with one try, the first failure ends the sender (the server died).
    """
    sent = 0
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=10) as client:
        while not stop.is_set():
            batch = [make_event("crash.app", f"{prefix}-{sent + i}") for i in range(100)]
            sent += len(batch)
            for _ in range(tries):
                try:
                    response = client.post(f"{url}/v1/events/batch", json={"events": batch})
                except httpx.HTTPError:
                    time.sleep(0.05)
                    continue
                if response.status_code == 200:
                    with lock:
                        acked.update(e["event_id"] for e in batch)
                break
            else:
                if tries == 1:
                    return
