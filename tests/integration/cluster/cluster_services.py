"""Where the cluster tests find the machine's services (env overrides, 127.0.0.1 defaults)."""

from __future__ import annotations

import os

import pytest

NATS_URL = os.environ.get("ATTRIBO_TEST_NATS", "nats://127.0.0.1:4222")
REDIS_URL = os.environ.get("ATTRIBO_TEST_REDIS", "redis://127.0.0.1:6379/0")
PG_URL = os.environ.get("ATTRIBO_TEST_PG", "postgresql://postgres@127.0.0.1:5432") + "/postgres"


def service_missing(reason: str) -> None:
    """Skip locally when a service is down; under CI (`.ci/run` starts them) it is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)
