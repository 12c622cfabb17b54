"""Retry policy: which answers are worth retrying, and how long to wait before the next try."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Request Timeout and Too Many Requests are the 4xx answers that mean "try again later".
RETRYABLE_4XX = frozenset({408, 429})


def is_retryable_status(status: int) -> bool:
    """True for answers a later attempt may turn into a success (5xx, 408, 429)."""
    return status >= 500 or status in RETRYABLE_4XX


def backoff_ceiling(attempt: int, base_s: float, max_s: float) -> float:
    """The un-jittered wait after failed attempt `attempt` (1-based): base * 2**(attempt-1)."""
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    exponent = min(attempt - 1, 62)  # past this the ceiling is max_s anyway; avoid overflow
    return min(max_s, base_s * (2.0**exponent))


def backoff_delay(
    attempt: int, base_s: float, max_s: float, rng: random.Random | None = None
) -> float:
    """The jittered wait: uniform in [ceiling/2, ceiling], so retries spread yet still back off."""
    ceiling = backoff_ceiling(attempt, base_s, max_s)
    draw = (rng or random).random()
    return ceiling / 2 + draw * ceiling / 2


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds asked for by a Retry-After header (delta-seconds or HTTP-date), None if absent."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # str.isdigit alone also takes "³"
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_wait(
    attempt: int,
    retry_after_s: float | None,
    base_s: float,
    max_s: float,
    max_retry_after_s: float,
    rng: random.Random | None = None,
) -> float:
    """Wait before the next attempt: backoff, lengthened to honour Retry-After (capped)."""
    wait = backoff_delay(attempt, base_s, max_s, rng)
    if retry_after_s is not None:
        wait = max(wait, min(retry_after_s, max_retry_after_s))
    return wait
