"""A demo server with a simulated month, and Chromium (Debian's) signed in to its dashboard."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from attribo.api.web import web_dir
from attribo.bench.server import free_port

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
VIEWPORT = {"width": 1440, "height": 900}


def chromium_path() -> str:
    """Debian's Chromium (`apt-get install chromium`); `ATTRIBO_CHROMIUM` overrides."""
    path = os.environ.get("ATTRIBO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium not found: apt-get install -y chromium (or set ATTRIBO_CHROMIUM)")
    return path


@dataclass
class Demo:
    """The running demo: its URL, keys and first app."""

    url: str
    admin_key: str
    analyst_key: str
    ingest_key: str
    app_id: str
    process: subprocess.Popen[str] = field(repr=False)

    def send(self, events: list[dict]) -> None:
        """Events through the collector with the app's ingest key."""
        answer = httpx.post(
            f"{self.url}/v1/events/batch",
            json={"events": events},
            headers={"Authorization": f"Bearer {self.ingest_key}"},
            timeout=30,
        )
        answer.raise_for_status()

    def get(self, path: str, **params: str) -> httpx.Response:
        """An API call with the admin key."""
        return httpx.get(
            f"{self.url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.admin_key}"},
            timeout=60,
        )

    def get_lines(self, path: str, **params: str) -> list[dict]:
        """An NDJSON listing with the admin key, one dict a line."""
        answer = self.get(path, **params)
        answer.raise_for_status()
        return [json.loads(line) for line in answer.text.splitlines() if line]


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`attribo demo` with two simulated months (same code path as `make run`)."""
    if not (web_dir() / "index.html").exists():
        pytest.fail("the dashboard is not built: run `make web`")
    port = free_port()
    data_dir = tmp_path_factory.mktemp("e2e") / "data"
    # Two months, so the default 30 days has a previous period to compare with; 20,000
    # installs, so ad x country x install date has more rows than one report answer holds.
    args = ["--installs", "20000", "--days", "60", "--port", str(port), "--data-dir", str(data_dir)]
    process = subprocess.Popen(
        [sys.executable, "-m", "attribo", "demo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "COLUMNS": "240"},
    )
    assert process.stdout is not None
    banner = ""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        banner += line
        if line.strip().startswith("try:"):
            break
    else:
        process.kill()
    match = re.search(r"app (\S+): ingest key (\S+), analyst key (\S+)", banner)
    admin = re.search(r"admin key\s+(\S+)", banner)
    if not (match and admin):
        process.kill()
        pytest.fail(f"the demo printed no keys:\n{banner}")
    try:
        url = f"http://127.0.0.1:{port}"
        yield Demo(url, admin.group(1), match.group(3), match.group(2), match.group(1), process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        process.stdout.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium from the system, never a downloaded one.

    Module-scoped: Playwright's sync API keeps an event loop running in this thread until it
    stops, and tests after these ones (asyncio.run) need the thread free again.
    """
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@dataclass
class Console:
    """Errors the page logged or threw."""

    errors: list[str] = field(default_factory=list)

    def on_message(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Browser, demo: Demo, console: Console) -> Iterator[Page]:
    """A 1440x900 tab signed in with the demo's admin key (kept in sessionStorage)."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.add_init_script(f"sessionStorage.setItem('attribo.key', {demo.admin_key!r})")
    tab = context.new_page()
    tab.on("console", console.on_message)
    tab.on("pageerror", lambda exc: console.errors.append(str(exc)))
    try:
        yield tab
    finally:
        context.close()


def record(name: str, value: float) -> None:
    """Keep a measured figure in test-artifacts/dashboard-perf.json."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "dashboard-perf.json"
    figures = json.loads(path.read_text()) if path.exists() else {}
    figures[name] = value
    path.write_text(json.dumps(figures, indent=2) + "\n")


@pytest.fixture
def shoot() -> Callable[[Page, str], Path]:
    """Writes 1440x900 screenshots to test-artifacts/screenshots (git-ignored)."""

    def take(page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return take


def settle(page: Page, streaming: bool = False) -> None:
    """Until no panel shows its loading state (a streaming page never goes network-idle)."""
    page.wait_for_load_state("load" if streaming else "networkidle")
    expect(page.locator("[data-state=loading]")).to_have_count(0, timeout=30_000)
