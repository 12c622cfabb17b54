"""`attribo demo`: the server on embedded defaults, with demo apps, keys and a simulated month.

The first run creates the apps and keys (kept in `demo.json` in the data directory, which
holds the data anyway) and streams the simulated traffic through the real HTTP collector
while the server is already answering, so everything downstream sees it arrive as it would
from SDKs. Later runs find `demo.json` and serve the data already there.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from attribo.api.runtime import Runtime
from attribo.api.serve import serve
from attribo.config import Settings
from attribo.control import AppExists, ControlPlane
from attribo.sim import SimParams, SimRun
from attribo.sim.send import SendReport, send_batches

DEMO_FILE = "demo.json"
_STORE_URLS = {
    "ios": "https://apps.apple.com/app/id6444000001",
    "android": "https://play.google.com/store/apps/details?id=",
}


@dataclass
class DemoKeys:
    """Keys the demo prints: one admin key, and per app its ingest and analyst keys and secret."""

    admin_key: str
    apps: dict[str, dict[str, str]]
    loaded: bool = False

    def save(self, path: Path) -> None:
        """Write next to the data, readable by the owner only (it holds keys)."""
        path.write_text(json.dumps(asdict(self), indent=2))
        path.chmod(0o600)


def prepare(control: ControlPlane, params: SimParams, data_dir: Path) -> DemoKeys:
    """The demo's apps and keys: read from `demo.json`, or created and saved there."""
    path = data_dir / DEMO_FILE
    if path.exists():
        return DemoKeys(**json.loads(path.read_text()))
    apps: dict[str, dict[str, str]] = {}
    for app_id in params.app_ids:
        urls = dict(_STORE_URLS, android=_STORE_URLS["android"] + app_id)
        try:
            created = control.create_app(app_id, app_id.replace(".", " ").title(), urls)
        except AppExists:
            raise SystemExit(
                f"app {app_id!r} already exists in {data_dir} but {DEMO_FILE} does not; "
                "run the demo with a new --data-dir"
            ) from None
        apps[app_id] = {
            "ingest_key": created.ingest_key,
            "analyst_key": control.create_key("analyst", app_id),
            "signing_secret": created.signing_secret,
        }
    keys = DemoKeys(admin_key=control.create_key("admin"), apps=apps)
    keys.save(path)
    return keys


def load(url: str, params: SimParams, keys: DemoKeys, console: Console) -> SendReport:
    """Generate the simulated month and stream it into the server at `url`."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    with progress:
        task = progress.add_task("simulating", total=None)
        with SimRun(
            params, lambda done, total: progress.update(task, completed=done, total=total)
        ) as run:
            sending = progress.add_task("loading events", total=run.events)
            report = send_batches(
                run.event_batches(),
                url,
                {app: a["ingest_key"] for app, a in keys.apps.items()},
                {app: a["signing_secret"] for app, a in keys.apps.items()},
                on_batch=lambda n: progress.advance(sending, n),
            )
            send_costs(url, keys.admin_key, run.cost_rows())
            return report


def send_costs(url: str, admin_key: str, rows: list[dict[str, Any]], chunk: int = 20_000) -> None:
    """Upload the simulated spend, so reports and the dashboard show CPI and ROAS."""
    for start in range(0, len(rows), chunk):
        answer = httpx.post(
            f"{url}/v1/costs",
            json={"rows": rows[start : start + chunk]},
            headers={"Authorization": f"Bearer {admin_key}"},
            timeout=120,
        )
        answer.raise_for_status()


def _wait_healthy(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def _wait_stored(url: str, timeout_s: float = 600.0) -> None:
    """Until the store holds everything loaded, so the banner's links show all of it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url + "/health", timeout=5) as resp:
            if json.loads(resp.read())["pipeline_lag_bytes"] == 0:
                return
        time.sleep(0.2)


def banner(url: str, keys: DemoKeys, report: SendReport | None) -> str:
    """Where to look, with the keys to look with."""
    lines = [f"attribo demo is serving on {url}"]
    if report is not None:
        lines.append(
            f"loaded {report.accepted:,} events ({report.duplicates:,} duplicates, "
            f"{report.rejected + report.bad_signature_events:,} refused as invalid or spoofed)"
        )
    lines += [
        f"  dashboard     {url}/  (sign in with the admin key)",
        f"  API docs      {url}/docs",
        f"  health        {url}/health",
        f"  admin key     {keys.admin_key}",
    ]
    for app_id, app in keys.apps.items():
        lines.append(
            f"  app {app_id}: ingest key {app['ingest_key']}, analyst key {app['analyst_key']}"
        )
    first = next(iter(keys.apps))
    lines.append(
        f"  try: curl -H 'Authorization: Bearer {keys.admin_key}' "
        f"'{url}/v1/attributions?app_id={first}' | head"
    )
    return "\n".join(lines)


def run_demo(settings: Settings, params: SimParams, console: Console | None = None) -> None:
    """Serve with the demo data, loading it first if this data directory has none yet."""
    console = console or Console(stderr=True)
    runtime = Runtime.open(settings)
    keys = prepare(runtime.control, params, settings.data_dir)
    url = f"http://{settings.host}:{settings.port}"
    if settings.host in ("0.0.0.0", "::"):
        url = f"http://127.0.0.1:{settings.port}"

    def loader() -> None:
        try:
            _wait_healthy(url)
            report = None
            if not keys.loaded:
                report = load(url, params, keys, console)
                _wait_stored(url)
                keys.loaded = True
                keys.save(settings.data_dir / DEMO_FILE)
            Console().print(banner(url, keys, report), soft_wrap=True, highlight=False)
        except Exception as exc:  # the server keeps serving; say what went wrong
            console.print(f"[red]demo load failed: {exc}[/red]")

    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per loaded batch
    threading.Thread(target=loader, name="attribo-demo-loader", daemon=True).start()
    serve(settings, runtime)
