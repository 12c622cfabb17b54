"""`PostbackDispatcher`: queues rendered postbacks durably and delivers them in the background.

The control DB's delivery log is the queue. `submit` renders and inserts rows (the dedup key
makes that idempotent), a single asyncio loop claims due rows and runs at most `concurrency`
attempts at once, and each attempt's outcome is written back before the next is scheduled, so
a restart resumes exactly where the log says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from datetime import datetime, timedelta
from types import TracebackType
from typing import Final

import httpx

from attribo.control import ControlPlane, DeliveryInfo, NewDelivery, PostbackTemplateInfo
from attribo.control.errors import UnknownApp
from attribo.control.models import utcnow
from attribo.postbacks.backoff import retry_wait
from attribo.postbacks.macros import render
from attribo.postbacks.sender import Outcome, new_client, send
from attribo.postbacks.settings import PostbackSettings
from attribo.postbacks.ssrf import ResolveFailed, UnsafeTarget, check_target
from attribo.postbacks.templates import TemplateError, validate_template

_log = logging.getLogger(__name__)

ALLOW_PRIVATE_SETTING: Final = "allow_private_postbacks"
EVENT_ID_MAX: Final = 64
_LEASE_MARGIN_S: Final = 60.0  # a claim outlives its attempt by this much if the process dies


def dedup_key(template_id: int, event_id: str) -> str:
    """The key that lets one event reach one template at most once."""
    return f"{template_id}:{event_id}"


class PostbackDispatcher:
    """Delivers outgoing postbacks with retries, backoff, dedup and a durable log."""

    def __init__(
        self,
        control: ControlPlane,
        settings: PostbackSettings | None = None,
        rng: random.Random | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """Bind to a control plane; nothing is sent until `start`.

        `verify` is the TLS trust for receivers (an SSLContext adds a private CA); `rng` seeds
        the backoff jitter.
        """
        self._verify = verify
        self._control = control
        self._repo = control.postbacks
        self.settings = settings or PostbackSettings()
        self._rng = rng or random.Random()
        self._client: httpx.AsyncClient | None = None
        self._runner: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._closing = False

    async def __aenter__(self) -> PostbackDispatcher:
        """Start delivering on entering an `async with` block."""
        await self.start()
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        """Close cleanly on leaving the block."""
        await self.close()

    async def start(self) -> None:
        """Begin delivering, picking up whatever the log still has pending."""
        if self._runner is not None:
            return
        self._closing = False
        self._wake = asyncio.Event()  # fresh per start: an Event belongs to the loop it ran on
        s = self.settings
        self._client = new_client(s.timeout_s, s.concurrency, self._verify)
        self._runner = asyncio.create_task(self._run(), name="postback-dispatcher")

    async def close(self) -> None:
        """Stop claiming, let in-flight attempts finish (bounded by the timeout), release rest."""
        self._closing = True
        self._wake.set()
        if self._runner is not None:
            await self._runner  # not cancelled: a claim in progress must spawn its attempt
            self._runner = None
        if self._inflight:
            _done, pending = await asyncio.wait(self._inflight, timeout=self.settings.timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # Templates (the API goes through here so creation gets the same checks as delivery)

    async def create_template(
        self,
        app_id: str,
        network: str,
        event: str,
        url: str,
        method: str = "GET",
        body: str | None = None,
        enabled: bool = True,
    ) -> PostbackTemplateInfo:
        """Validate (macros, scheme, SSRF) and store a template; `TemplateError` names the field."""
        validate_template(url, method, body)
        allow = await self._allows_private(app_id)
        try:
            await check_target(render(url, {}), allow)
        except (UnsafeTarget, ResolveFailed) as exc:
            raise TemplateError("url", str(exc)) from None
        return await asyncio.to_thread(
            self._repo.create_template, app_id, network, event, url, method, body, enabled
        )

    async def _allows_private(self, app_id: str) -> bool:
        """Whether the app opted into private and loopback targets (tests, on-prem networks)."""
        app = await asyncio.to_thread(self._control.get_app, app_id)
        if app is None:
            raise UnknownApp(app_id)
        return app.settings.get(ALLOW_PRIVATE_SETTING) is True

    # Submission

    async def submit(self, app_id: str, kind: str, fields: dict[str, object]) -> int:
        """Queue postbacks for an attributed install (`kind="install"`) or an in-app event.

        `fields` holds the macro values; `network` selects the templates and `event_id` is the
        dedup key (required). Returns how many deliveries were newly queued.
        """
        network = fields.get("network")
        if not network:
            return 0  # organic: no network to tell
        event_id = fields.get("event_id")
        if not isinstance(event_id, str) or not 1 <= len(event_id) <= EVENT_ID_MAX:
            raise ValueError(f"fields['event_id'] must be a string of 1-{EVENT_ID_MAX} chars")
        templates = await asyncio.to_thread(
            self._repo.matching_templates, app_id, str(network), kind
        )
        if not templates:
            return 0
        values: dict[str, object] = {"app_id": app_id, **fields}
        if kind != "install":
            values.setdefault("event_name", kind)
        new = [
            NewDelivery(
                app_id=app_id,
                template_id=t.id,
                event_id=event_id,
                dedup_key=dedup_key(t.id, event_id),
                method=t.method,
                url=render(t.url, values),
                body=None if t.body is None else render(t.body, values),
            )
            for t in templates
        ]
        created = await asyncio.to_thread(self._repo.enqueue, new)
        if created:
            self._wake.set()
        return len(created)

    # Delivery loop

    async def _run(self) -> None:
        """Claim due deliveries while slots are free; sleep until the next is due or news."""
        s = self.settings
        while not self._closing:
            try:
                free = s.concurrency - len(self._inflight)
                claimed: list[DeliveryInfo] = []
                if free > 0:
                    now = utcnow()
                    lease = now + timedelta(seconds=s.timeout_s + _LEASE_MARGIN_S)
                    claimed = await asyncio.to_thread(self._repo.claim_due, now, lease, free)
                    for delivery in claimed:
                        task = asyncio.create_task(self._attempt(delivery))
                        self._inflight.add(task)
                        task.add_done_callback(self._inflight.discard)
                wait = s.poll_interval_s
                if len(claimed) < free:
                    next_due = await asyncio.to_thread(self._repo.next_due_at)
                    if next_due is not None:
                        wait = min(wait, max(0.0, (next_due - utcnow()).total_seconds()))
                elif claimed:
                    continue  # every slot filled: there may be more due right now
            except Exception:  # a DB hiccup must not kill delivery for the whole process
                _log.exception("postback dispatcher loop failed; retrying")
                wait = s.poll_interval_s
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()

    async def _attempt(self, delivery: DeliveryInfo) -> None:
        """Run one claimed attempt and write its outcome (or give the claim back on shutdown)."""
        attempt = delivery.attempts
        try:
            try:
                async with asyncio.timeout(self.settings.timeout_s):
                    outcome = await self._try(delivery)
            except TimeoutError:
                outcome = Outcome("retry", None, f"timeout after {self.settings.timeout_s} s")
        except asyncio.CancelledError:
            await asyncio.to_thread(self._repo.release, delivery.id, attempt)
            raise
        except Exception as exc:  # keep the row moving whatever broke
            _log.exception("postback %s attempt %s crashed", delivery.id, attempt)
            outcome = Outcome("retry", None, f"internal error: {type(exc).__name__}")
        try:
            await asyncio.to_thread(self._record, delivery, attempt, outcome)
        finally:
            self._wake.set()

    async def _try(self, delivery: DeliveryInfo) -> Outcome:
        """Re-check the target (DNS may have changed) and send to the approved address."""
        try:
            allow = await self._allows_private(delivery.app_id)
            target = await check_target(delivery.url, allow)
        except UnsafeTarget as exc:
            return Outcome("failed", None, f"refused: {exc}")
        except ResolveFailed as exc:
            return Outcome("retry", None, str(exc))
        assert self._client is not None, "attempts only run between start and close"
        return await send(self._client, target, delivery.method, delivery.url, delivery.body)

    def _record(self, delivery: DeliveryInfo, attempt: int, outcome: Outcome) -> None:
        """Turn an outcome into the row's next state: delivered, failed, or pending later."""
        s = self.settings
        status: str = outcome.verdict
        error = outcome.error
        next_at: datetime | None = None
        if outcome.verdict == "retry":
            if attempt >= s.max_attempts:
                status, error = "failed", f"gave up after {attempt} attempts: {error}"
            else:
                wait = retry_wait(
                    attempt,
                    outcome.retry_after_s,
                    s.base_delay_s,
                    s.max_delay_s,
                    s.max_retry_after_s,
                    self._rng,
                )
                status, next_at = "pending", utcnow() + timedelta(seconds=wait)
        self._repo.record_attempt(delivery.id, attempt, status, outcome.http_status, error, next_at)
