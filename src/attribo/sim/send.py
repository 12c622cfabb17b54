"""Stream a simulated run into a running server: `POST /v1/events/batch`, per app and signature.

Each app needs its own ingest key (the collector accepts only an app's ingest key for its
events). Server-to-server batches are signed with the app's secret when it is known; spoofed
batches are always signed with a wrong secret, so the server must answer 401 to them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx

from attribo.sim.engine import EventBatch

SPOOFER_SECRET = b"not-the-app-secret"


@dataclass
class SendReport:
    """What the server answered, summed over batches."""

    batches: int = 0
    sent: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0  # events the server refused inside accepted batches
    bad_signature_events: int = 0  # spoofed events refused with 401, as intended
    errors: list[str] = field(default_factory=list)


def sign(body: bytes, secret: bytes) -> str:
    """`X-Attribo-Signature` header value for a body."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def send_batches(
    batches: Iterable[EventBatch],
    url: str,
    keys: dict[str, str],
    secrets: dict[str, str] | None = None,
    on_batch: Callable[[int], None] | None = None,
    timeout_s: float = 60.0,
) -> SendReport:
    """POST every batch to `url`; returns the summed answers (raises on unexpected errors)."""
    report = SendReport()
    endpoint = url.rstrip("/") + "/v1/events/batch"
    with httpx.Client(timeout=timeout_s) as client:
        for batch in batches:
            key = keys.get(batch.app_id)
            if key is None:
                raise ValueError(f"no ingest key for app {batch.app_id!r}")
            body = batch.body()
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            secret = (secrets or {}).get(batch.app_id)
            if batch.signature == "bad":
                headers["X-Attribo-Signature"] = sign(body, SPOOFER_SECRET)
            elif batch.signature == "good" and secret:
                headers["X-Attribo-Signature"] = sign(body, secret.encode())
            response = client.post(endpoint, content=body, headers=headers)
            report.batches += 1
            report.sent += len(batch.lines)
            if response.status_code == 401 and batch.signature == "bad":
                report.bad_signature_events += len(batch.lines)
            elif response.status_code == 200:
                answer = response.json()
                report.accepted += int(answer.get("accepted", 0))
                report.duplicates += int(answer.get("duplicates", 0))
                report.rejected += int(answer.get("rejected", 0))
            else:
                raise RuntimeError(
                    f"{batch.app_id}: HTTP {response.status_code}: {response.text[:500]}"
                )
            if on_batch:
                on_batch(len(batch.lines))
    return report
