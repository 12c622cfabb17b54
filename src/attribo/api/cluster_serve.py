"""`attribo serve --profile cluster`: one box running the split processes, one address.

Starts `attribo api` (management, reports, dashboard and the attributing worker) on a
private port and `--collectors` processes of `attribo collector` on the public one. The
collectors take the events and pass every other path to the API, so clients see what the
embedded profile shows. A child that dies is started again; SIGTERM/SIGINT stop the
collectors first (no new events), then the API, which drains the stream into the store.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from attribo.api.serve import configure_logging
from attribo.config import Settings

_log = logging.getLogger("attribo")
_START_TIMEOUT_S = 120.0


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


class _Child:
    """One supervised `python -m attribo …` process."""

    def __init__(self, name: str, args: list[str], health_url: str) -> None:
        self.name = name
        self.args = args
        self.health_url = health_url
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "attribo", *self.args])

    def wait_healthy(self, timeout_s: float = _START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while not _healthy(self.health_url):
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited while starting")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not healthy after {timeout_s:.0f} s")
            time.sleep(0.1)

    def stop(self, timeout_s: float = 60.0) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode or 0)


def serve_cluster(settings: Settings, collectors: int = 1) -> None:
    """Run and supervise the API and `collectors` collectors until SIGTERM/SIGINT."""
    configure_logging()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    data = ["--data-dir", str(settings.data_dir)]
    api_port = _free_port("127.0.0.1")
    api_url = f"http://127.0.0.1:{api_port}"
    api = _Child("api", ["api", "--host", "127.0.0.1", "--port", str(api_port), *data], api_url)
    public = f"http://{'127.0.0.1' if settings.host in ('0.0.0.0', '::') else settings.host}"
    public += f":{settings.port}"
    front = ["collector", "--host", settings.host, "--port", str(settings.port), *data]
    fronts = [
        _Child(f"collector {n}", [*front, "--api-url", api_url], public) for n in range(collectors)
    ]
    api.start()
    try:
        api.wait_healthy()  # before the collectors: a forwarded request must find the API
        for child in fronts:
            child.start()
        for child in fronts:
            child.wait_healthy()
        _log.info("cluster on %s: %d collector(s), api on %s", public, collectors, api_url)
        while not stop.wait(0.5):
            for child in (api, *fronts):
                if child.process is not None and child.process.poll() is not None:
                    _log.warning("%s exited with %s; starting it again", child.name,
                                 child.process.returncode)  # fmt: skip
                    child.start()
    finally:
        codes = [child.stop() for child in fronts]  # no new events first
        codes.append(api.stop(timeout_s=300.0))  # then drain the stream into the store
        if any(codes):
            _log.warning("exit codes: %s", codes)
