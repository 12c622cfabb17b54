"""Cluster-profile fixtures: one namespace per test on the machine's real services."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from cluster_services import REDIS_URL, start_redis_cluster


@pytest.fixture
def namespace() -> str:
    """A namespace of its own, so test runs share servers without meeting."""
    return f"t{secrets.token_hex(5)}"


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A three-primary Redis Cluster of this test session (its nodes stop at the end)."""
    url, nodes = start_redis_cluster(tmp_path_factory.mktemp("redis-cluster"))
    yield url
    for node in nodes:
        node.terminate()
    for node in nodes:
        node.wait(timeout=10)


@pytest.fixture(params=["server", "cluster"])
def redis_url(request: pytest.FixtureRequest) -> str:
    """The machine's Redis server, then a Redis Cluster: the hot state works on both."""
    if request.param == "cluster":
        return str(request.getfixturevalue("redis_cluster_url"))
    return REDIS_URL
