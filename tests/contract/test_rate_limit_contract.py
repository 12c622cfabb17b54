"""The token-bucket contract of rate limits: burst, refusal with a wait, refill, isolation."""

from __future__ import annotations

import time
from typing import Any


def test_a_burst_is_allowed_then_refused_with_the_wait(buckets: Any) -> None:
    assert [buckets.take("k", 1.0, 3) for _ in range(3)] == [0, 0, 0]
    assert buckets.take("k", 1.0, 3) == 1
    assert buckets.take("slow", 0.5, 1) == 0
    assert buckets.take("slow", 0.5, 1) == 2  # one token takes two seconds at 0.5/s


def test_buckets_are_independent(buckets: Any) -> None:
    assert buckets.take("a", 1.0, 1) == 0
    assert buckets.take("a", 1.0, 1) >= 1
    assert buckets.take("b", 1.0, 1) == 0
    assert buckets.take("a:b", 1.0, 1) == 0


def test_tokens_refill_at_the_rate(buckets: Any) -> None:
    assert buckets.take("k", 20.0, 1) == 0
    assert buckets.take("k", 20.0, 1) == 1
    time.sleep(0.08)  # 1.6 tokens' worth at 20/s, capped at the burst of 1
    assert buckets.take("k", 20.0, 1) == 0
    assert buckets.take("k", 20.0, 1) == 1
