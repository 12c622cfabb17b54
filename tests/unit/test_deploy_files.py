"""The deployment files start commands that exist, with options they take and settings we read."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from typer.main import get_command

from attribo.cli import app
from attribo.config import Settings

yaml = pytest.importorskip("yaml", reason="PyYAML comes with the dev tools")
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SETTINGS = {f"ATTRIBO_{f.name.upper()}" for f in dataclasses.fields(Settings)}


def _check_args(args: list[str]) -> None:
    """`args` is an attribo command line whose command and options all exist."""
    group = get_command(app)
    command = group.commands[args[0]]  # type: ignore[attr-defined]
    options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    for word in args[1:]:
        if word.startswith("--"):
            assert word in options, f"{args[0]} has no option {word}"


def _check_env(env: dict[str, str]) -> None:
    for name in env:
        assert name in SETTINGS, f"{name} is not a setting"


def test_compose_runs_the_api_workers_and_collectors() -> None:
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    commands = {name: s["command"] for name, s in services.items() if "build" in s}
    assert {args[0] for args in commands.values()} == {"api", "worker", "collector"}
    assert "--no-worker" in commands["api"]  # attribution is the workers' alone
    for name, args in commands.items():
        _check_args(args)
        _check_env(services[name]["environment"])
    collector = commands["collector"]
    api_port = commands["api"][commands["api"].index("--port") + 1]
    assert collector[collector.index("--api-url") + 1] == f"http://api:{api_port}"


def test_kubernetes_runs_one_api_and_scalable_collectors() -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "kubernetes" / "attribo.yaml").read_text()))
    workloads = {
        d["metadata"]["name"]: d for d in docs if d["kind"] in ("StatefulSet", "Deployment")
    }
    api, collector = workloads["attribo-api"], workloads["attribo-collector"]
    worker = workloads["attribo-worker"]
    assert api["kind"] == "StatefulSet" and api["spec"]["replicas"] == 1
    assert collector["kind"] == "Deployment"
    for workload in (api, worker, collector):
        (container,) = workload["spec"]["template"]["spec"]["containers"]
        _check_args(container["args"])
        _check_env({e["name"]: "" for e in container.get("env", [])})
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    _check_env(config["data"])
    # Workers share the partitions: never more of them than there are partitions to lease,
    # and each keeps a stable id (its pod name) so a restart reclaims its own leases.
    assert worker["kind"] == "StatefulSet"
    assert worker["spec"]["replicas"] <= int(config["data"]["ATTRIBO_PARTITIONS"])
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    (worker_id,) = (e for e in container["env"] if e["name"] == "ATTRIBO_WORKER_ID")
    assert worker_id["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert "--no-worker" in api["spec"]["template"]["spec"]["containers"][0]["args"]
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    assert services["attribo"]["spec"]["selector"] == {"app": "attribo-collector"}
