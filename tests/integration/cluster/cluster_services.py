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


def cluster_env(namespace: str, data_dir: str) -> dict[str, str]:
    """Environment for an `attribo` process of the cluster profile in `namespace`."""
    return {
        "ATTRIBO_PROFILE": "cluster",
        "ATTRIBO_NAMESPACE": namespace,
        "ATTRIBO_NATS_URL": NATS_URL,
        "ATTRIBO_POSTGRES_URL": PG_URL,
        "ATTRIBO_REDIS_URL": REDIS_URL,
        "ATTRIBO_DATA_DIR": data_dir,
    }


def drop_namespace(namespace: str) -> None:
    """Remove everything a namespace left on the shared servers (stream, schema, keys)."""
    from attribo.backends import drop_namespace as drop
    from attribo.config import load_settings

    drop(
        load_settings(
            env={},
            profile="cluster",
            namespace=namespace,
            nats_url=NATS_URL,
            postgres_url=PG_URL,
            redis_url=REDIS_URL,
        )
    )
