"""The body of `attribo simulate`: write files or stream to a server, with Rich progress bars."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from attribo.sim.engine import SimRun
from attribo.sim.output import write_run
from attribo.sim.params import SimParams, load_params
from attribo.sim.send import send_batches

NAMED_APPS = ("demo.puzzle", "demo.runner")


def default_app_ids(count: int) -> tuple[str, ...]:
    """`demo.puzzle`, `demo.runner`, then `demo.app3`, `demo.app4`, ..."""
    return tuple(NAMED_APPS[i] if i < len(NAMED_APPS) else f"demo.app{i + 1}" for i in range(count))


def build_params(
    config: Path | None,
    apps: int | None,
    app_ids: list[str] | None,
    days: int | None,
    installs: int | None,
    seed: int | None,
    start: str | None,
) -> SimParams:
    """Parameters from defaults, the TOML file, then the command-line options."""
    ids = tuple(app_ids) if app_ids else (default_app_ids(apps) if apps else None)
    return load_params(
        config,
        app_ids=ids,
        days=days,
        installs=installs,
        seed=seed,
        start=date.fromisoformat(start) if start else None,
    )


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def run_simulate(
    params: SimParams,
    out: Path | None,
    fmt: str = "jsonl",
    send_url: str | None = None,
    keys: list[str] | None = None,
    secrets: list[str] | None = None,
    console: Console | None = None,
) -> None:
    """Generate the run, then write it to `out` and/or stream it to `send_url`."""
    console = console or Console(stderr=True)
    if send_url and (not keys or len(keys) != len(params.app_ids)):
        raise ValueError(
            f"--send needs one --key per app, in app order: {', '.join(params.app_ids)}"
        )
    if secrets and len(secrets) != len(params.app_ids):
        raise ValueError("give one --secret per app, in app order")
    with _progress(console) as bars:
        task = bars.add_task("generating chunks", total=None)

        def step(done: int, total: int) -> None:
            bars.update(task, completed=done, total=total)

        with SimRun(params, step) as run:
            if out is not None:
                write = bars.add_task(f"writing {out}", total=None)
                write_run(run, out, fmt)
                bars.update(write, completed=1, total=1)
            if send_url and keys:
                sending = bars.add_task(f"sending to {send_url}", total=run.events)
                report = send_batches(
                    run.event_batches(),
                    send_url,
                    dict(zip(params.app_ids, keys, strict=True)),
                    dict(zip(params.app_ids, secrets, strict=True)) if secrets else None,
                    on_batch=lambda n: bars.advance(sending, n),
                )
    console.print(
        f"{run.installs} installs, {run.events} events, apps {', '.join(params.app_ids)}"
        + (f"; files in {out}" if out else "")
    )
    if send_url:
        console.print(
            f"sent {report.sent}: accepted {report.accepted}, duplicates {report.duplicates}, "
            f"rejected {report.rejected}, spoofed (bad signature, 401) "
            f"{report.bad_signature_events}"
        )
