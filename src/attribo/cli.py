"""The `attribo` command line: wires commands to the modules that do the work."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from attribo import __version__
from attribo.config import Settings, load_settings

app = typer.Typer(help="attribo: self-hostable mobile attribution.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks that print one JSON object.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(bench_app, name="bench")
fraud_app = typer.Typer(help="Fraud detection models.", no_args_is_help=True)
app.add_typer(fraud_app, name="fraud")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="data directory (default ./attribo-data)")
]
ConfigFile = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file", exists=True, dir_okay=False)
]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="embedded | cluster")]


def _settings(config: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config, **overrides)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="listen address")] = None,
    port: Annotated[int | None, typer.Option(help="listen port")] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    profile: ProfileOpt = None,
    collectors: Annotated[
        int, typer.Option(help="cluster profile: collector processes on the port", min=1)
    ] = 1,
) -> None:
    """Run the collector, API and pipeline: one process, or the cluster's split processes."""
    settings = _settings(config, host=host, port=port, data_dir=data_dir, profile=profile)
    if settings.profile == "cluster":
        from attribo.api.cluster_serve import serve_cluster

        serve_cluster(settings, collectors)
        return
    from attribo.api.serve import serve as run_server

    run_server(settings)


@app.command()
def collector(
    host: Annotated[str | None, typer.Option(help="listen address")] = None,
    port: Annotated[
        int | None, typer.Option(help="listen port (shared by every collector)")
    ] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    api_url: Annotated[
        str | None, typer.Option("--api-url", help="forward other paths to this `attribo api`")
    ] = None,
) -> None:
    """A stateless cluster collector: events and tracking links; run as many as needed."""
    from attribo.api.collector_process import serve_collector

    settings = _settings(config, host=host, port=port, data_dir=data_dir, profile="cluster")
    serve_collector(settings, api_url)


@app.command()
def worker(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """The cluster's attributing worker alone: log → attribution → store (no HTTP)."""
    from attribo.api.serve import run_worker

    run_worker(_settings(config, data_dir=data_dir, profile="cluster"))


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="listen address")] = None,
    port: Annotated[int | None, typer.Option(help="listen port")] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    with_worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="run the attributing worker here (--no-worker: `attribo worker` runs it; "
            "needs a ClickHouse server)",
        ),
    ] = True,
) -> None:
    """The cluster's API (management, reports, dashboard), with the attributing worker."""
    from attribo.api.serve import serve_split_api

    settings = _settings(config, host=host, port=port, data_dir=data_dir, profile="cluster")
    serve_split_api(settings, with_worker)


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="listen address")] = None,
    port: Annotated[int | None, typer.Option(help="listen port")] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    installs: Annotated[int, typer.Option(help="simulated installs to load")] = 50_000,
    days: Annotated[int, typer.Option(help="days simulated, ending today")] = 30,
    seed: Annotated[int, typer.Option(help="random seed")] = 7,
) -> None:
    """Serve with demo apps, keys and a simulated month (loaded on the first run only)."""
    from attribo.demo import run_demo
    from attribo.sim import load_params

    settings = _settings(config, host=host, port=port, data_dir=data_dir)
    run_demo(settings, load_params(None, installs=installs, days=days, seed=seed))


@app.command()
def attribute(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="replay every stored install")] = False,
    rules: Annotated[
        Path | None,
        typer.Option("--settings", help="TOML attribution settings (what-if)", exists=True),
    ] = None,
    app_id: Annotated[str | None, typer.Option("--app", help="one app only")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="write rows (.parquet or .csv)")] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Replay attribution over stored events; prints a JSON summary against the live results.

    Run it while the server is stopped: the embedded store belongs to one process.
    """
    from attribo.attribution.replay import rebuild_summary
    from attribo.attribution.settings import load_attribution_settings
    from attribo.backends import open_store

    if not rebuild:
        raise typer.BadParameter("only --rebuild is available", param_hint="--rebuild")
    # The server is stopped while this runs: the store may use every core.
    settings = _settings(config, data_dir=data_dir, store_threads=os.cpu_count() or 1)
    try:
        store = open_store(settings)
    except OSError as exc:  # DuckDB's lock: a server owns this data directory
        typer.echo(f"error: cannot open the store ({exc}); stop the server first", err=True)
        raise typer.Exit(2) from None
    try:
        table, summary = rebuild_summary(store, load_attribution_settings(rules), app_id)
    finally:
        store.close()
    if out is not None:
        _write_table(table, out)
    sys.stdout.write(json.dumps(summary) + "\n")


def _write_table(table: Any, out: Path) -> None:
    from pyarrow import csv as pa_csv
    from pyarrow import parquet as pq

    if out.suffix == ".csv":
        pa_csv.write_csv(table, out)
    else:
        pq.write_table(table, out)


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin | analyst | ingest")],
    app_id: Annotated[
        str | None, typer.Option("--app", help="the app the key is scoped to")
    ] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Create an API key and print it once, alone on stdout."""
    from attribo.backends import open_control
    from attribo.control import ROLES, ControlError
    from attribo.control.keys import display_prefix

    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}", param_hint="--role")
    settings = _settings(config, data_dir=data_dir)
    control = open_control(settings)
    try:
        key = control.create_key(role, app_id)
        control.audit.record(
            "key.create",
            actor_key=None,
            actor_role=None,
            app_id=app_id,
            target_id=display_prefix(key),
            details={"role": role, "via": "cli"},
        )
    except (ControlError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        control.close()
    typer.echo(key)


@bench_app.command("ingest")
def bench_ingest(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = True,
    quick: Annotated[bool, typer.Option(help="short run, for smoke tests")] = False,
    profile: ProfileOpt = None,
) -> None:
    """Ingest throughput and latency against a FastAPI + pydantic baseline, same run."""
    from attribo.bench.ingest import run_ingest_bench, run_on_profile

    settings = _settings(None, profile=profile)
    result = run_on_profile(settings, lambda: run_ingest_bench(quick=quick), quick)
    sys.stdout.write(json.dumps(result, indent=None if as_json else 2) + "\n")


@bench_app.command("attribution")
def bench_attribution(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = True,
    quick: Annotated[bool, typer.Option(help="a twentieth of the data, for smoke tests")] = False,
) -> None:
    """Replay of 1M installs against 10M clicks, and live install latency at 1,000/s."""
    from attribo.bench.attribution import run_attribution_bench

    result = run_attribution_bench(quick=quick)
    sys.stdout.write(json.dumps(result, indent=None if as_json else 2) + "\n")


@bench_app.command("fraud")
def bench_fraud(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = True,
    quick: Annotated[bool, typer.Option(help="5,000 installs and no TalkingData")] = False,
) -> None:
    """Simulated holdout precision/recall, live scoring latency, TalkingData 5-fold AUC."""
    from attribo.bench.fraud import run_fraud_bench

    result = run_fraud_bench(quick=quick, talkingdata=not quick)
    sys.stdout.write(json.dumps(result, indent=None if as_json else 2) + "\n")


@fraud_app.command("train")
def fraud_train(
    app_id: Annotated[str | None, typer.Option("--app", help="train on this app's events")] = None,
    truth: Annotated[
        Path | None,
        typer.Option("--truth", help="simulator truth.parquet labelling the stored installs"),
    ] = None,
    simulate: Annotated[
        int, typer.Option("--simulate", help="train on a fresh simulated world of N installs")
    ] = 0,
    seed: Annotated[int, typer.Option(help="simulation and model seed")] = 7,
    out: Annotated[
        Path | None, typer.Option("--out", help="models directory (default DATA_DIR/fraud-models)")
    ] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Train the fraud model and save it as a new versioned directory; prints a JSON summary.

    From stored history (`--app` with `--truth`; the server must be stopped) or from a
    simulated world (`--simulate N`).
    """
    from attribo.fraud.train import simulated_training, stored_history, train_and_save
    from attribo.sim.params import FraudParams

    settings = _settings(config, data_dir=data_dir)
    root = out or settings.data_dir / "fraud-models"
    if simulate > 0:
        history = simulated_training(simulate, seed)
    elif app_id and truth:
        from attribo.backends import open_store

        try:
            store = open_store(settings)
        except OSError as exc:
            typer.echo(f"error: cannot open the store ({exc}); stop the server first", err=True)
            raise typer.Exit(2) from None
        try:
            history = stored_history(store, app_id, truth)
        finally:
            store.close()
    else:
        raise typer.BadParameter("give --simulate N, or --app with --truth")
    try:
        summary = train_and_save(history, root, FraudParams().network, seed)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    sys.stdout.write(json.dumps(summary) + "\n")


@bench_app.command("reports")
def bench_reports(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = True,
    sizes: Annotated[
        str, typer.Option(help="stored events per run, comma-separated")
    ] = "10000000,50000000",
    repeat: Annotated[int, typer.Option(help="timed runs of each query")] = 20,
) -> None:
    """p50/p95 of the dashboard's standard queries over 10M and 50M events; raw baseline."""
    from attribo.bench.reports import run_reports_bench

    counts = tuple(int(part) for part in sizes.split(",") if part.strip())
    result = run_reports_bench(sizes=counts, repeat=repeat)
    sys.stdout.write(json.dumps(result, indent=None if as_json else 2) + "\n")


@bench_app.command("simulate")
def bench_simulate(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = True,
    installs: Annotated[int, typer.Option(help="installs to generate")] = 1_000_000,
) -> None:
    """Simulator speed: generate and write a month of traffic; seconds, events/s, peak RSS."""
    from attribo.sim.bench import run_sim_bench

    result = run_sim_bench(installs=installs)
    sys.stdout.write(json.dumps(result, indent=None if as_json else 2) + "\n")


@app.command()
def simulate(
    out: Annotated[Path | None, typer.Option("--out", help="output directory")] = None,
    apps: Annotated[int | None, typer.Option(help="number of apps (default 2)")] = None,
    app_id: Annotated[
        list[str] | None, typer.Option("--app-id", help="app id, repeated per app")
    ] = None,
    days: Annotated[int | None, typer.Option(help="days simulated (default 30)")] = None,
    installs: Annotated[int | None, typer.Option(help="installs (default 100000)")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed (default 7)")] = None,
    start: Annotated[str | None, typer.Option(help="first day YYYY-MM-DD (UTC)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl | parquet")] = "jsonl",
    sim_config: Annotated[
        Path | None, typer.Option("--config", help="TOML simulation parameters", exists=True)
    ] = None,
    send: Annotated[str | None, typer.Option("--send", help="server URL to stream to")] = None,
    key: Annotated[list[str] | None, typer.Option("--key", help="ingest key, per app")] = None,
    secret: Annotated[
        list[str] | None, typer.Option("--secret", help="signing secret, per app")
    ] = None,
) -> None:
    """Simulate traffic with ground truth: write files (--out) or stream them (--send)."""
    from attribo.sim.command import build_params, run_simulate

    if out is None and send is None:
        raise typer.BadParameter("give --out DIR, --send URL, or both")
    try:
        params = build_params(sim_config, apps, app_id, days, installs, seed, start)
        run_simulate(params, out, fmt, send, key, secret)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
