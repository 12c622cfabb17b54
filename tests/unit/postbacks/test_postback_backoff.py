"""Retry policy: exponential schedule with bounded jitter, Retry-After, retryable statuses."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribo.postbacks.backoff import (
    backoff_ceiling,
    backoff_delay,
    is_retryable_status,
    parse_retry_after,
    retry_wait,
)
from attribo.postbacks.settings import PostbackSettings, postback_settings_table


def test_ceiling_doubles_until_the_cap() -> None:
    schedule = [backoff_ceiling(n, 1.0, 60.0) for n in range(1, 10)]
    assert schedule == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff_ceiling(10_000, 0.5, 300.0) == 300.0  # no overflow on huge attempt numbers
    with pytest.raises(ValueError):
        backoff_ceiling(0, 1.0, 60.0)


def test_jittered_delays_stay_within_half_and_full_ceiling() -> None:
    rng = random.Random(7)
    for attempt in range(1, 12):
        ceiling = backoff_ceiling(attempt, 0.25, 30.0)
        for _ in range(200):
            assert ceiling / 2 <= backoff_delay(attempt, 0.25, 30.0, rng) <= ceiling


def test_jitter_is_seeded_and_actually_varies() -> None:
    first = [backoff_delay(5, 1.0, 60.0, random.Random(3)) for _ in range(3)]
    assert first[0] == first[1] == first[2]
    spread = {backoff_delay(5, 1.0, 60.0, random.Random(seed)) for seed in range(20)}
    assert len(spread) == 20


@given(st.integers(1, 40), st.integers(1, 40))
def test_expected_wait_never_shrinks_between_attempts(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert backoff_ceiling(low, 0.1, 120.0) <= backoff_ceiling(high, 0.1, 120.0)


@pytest.mark.parametrize(
    ("status", "retry"),
    [(500, True), (502, True), (503, True), (599, True), (408, True), (429, True),
     (400, False), (401, False), (403, False), (404, False), (410, False), (422, False),
     (301, False), (302, False)],
)  # fmt: skip
def test_retryable_statuses(status: int, retry: bool) -> None:
    assert is_retryable_status(status) is retry


def test_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(None) is None
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 3 ") == 3.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0  # in the past
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None


def test_retry_after_lengthens_but_is_capped() -> None:
    rng = random.Random(1)
    assert retry_wait(1, 10.0, 0.5, 60.0, 3600.0, rng) == 10.0
    assert retry_wait(1, 99_999.0, 0.5, 60.0, 3600.0, rng) == 3600.0
    assert 0.25 <= retry_wait(1, 0.0, 0.5, 60.0, 3600.0, rng) <= 0.5  # backoff still applies


def test_settings_are_validated_and_documented() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        PostbackSettings(max_attempts=0)
    with pytest.raises(ValueError, match="timeout_s"):
        PostbackSettings(timeout_s=0)
    with pytest.raises(ValueError, match="max_delay_s"):
        PostbackSettings(base_delay_s=10, max_delay_s=1)
    names = [name for name, _default, help_text in postback_settings_table() if help_text]
    assert names == ["max_attempts", "base_delay_s", "max_delay_s", "max_retry_after_s",
                     "timeout_s", "concurrency", "poll_interval_s"]  # fmt: skip


@given(st.text(max_size=12))
def test_retry_after_never_raises_on_any_header(value: str) -> None:
    result = parse_retry_after(value)  # "³" is a digit to str.isdigit, not to float()
    assert result is None or result >= 0
