"""Where the cluster tests find the machine's services (env overrides, 127.0.0.1 defaults)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

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


def drop_namespace(namespace: str, redis_url: str = REDIS_URL) -> None:
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
            redis_url=redis_url,
        )
    )


def _free_port_pair() -> int:
    """A port that is free, with its cluster-bus port (port + 10000) free too."""
    import socket

    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port > 55_000:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10_000))
            except OSError:
                continue
        return port


def start_redis_cluster(work: Path, nodes: int = 3) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """A Redis Cluster of `nodes` primaries from the machine's redis-server, in `work`.

    Returns its `redis+cluster://` URL and the node processes (the caller stops them).
    """
    import shutil
    import time

    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        service_missing("redis-server and redis-cli are needed for a Redis Cluster")
    assert server is not None and cli is not None
    ports = [_free_port_pair() for _ in range(nodes)]
    processes = []
    for port in ports:
        node = work / str(port)
        node.mkdir(parents=True)
        argv = [server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf", "--save", "", "--appendonly", "no",
                "--dir", str(node)]  # fmt: skip
        processes.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, cwd=node))
    addresses = [f"127.0.0.1:{port}" for port in ports]
    for port in ports:
        _wait(lambda port=port: _cli(cli, port, "ping") == "PONG")
    create = [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"]
    subprocess.run(create, check=True, capture_output=True, timeout=60)
    for port in ports:
        _wait(lambda port=port: "cluster_state:ok" in _cli(cli, port, "cluster", "info"))
    time.sleep(0.2)
    return f"redis+cluster://{addresses[0]}", processes


def _cli(cli: str, port: int, *command: str) -> str:
    done = subprocess.run([cli, "-p", str(port), *command], capture_output=True, timeout=10)
    return done.stdout.decode().strip()


def _wait(ready: Callable[[], bool], timeout_s: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError("the Redis Cluster did not come up")
        time.sleep(0.1)
