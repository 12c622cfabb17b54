"""Start, stop and kill a real `attribo serve` process on 127.0.0.1 (benchmarks and tests)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_json(
    method: str, url: str, body: Any = None, key: str | None = None, timeout: float = 10
) -> tuple[int, Any]:
    """One JSON request with the standard library; returns (status, decoded body)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    return status, (json.loads(raw) if raw else None)


class ServerProcess:
    """`python -m attribo serve` on a data directory, in its own process group.

    `command` names another server command and its options: `("api",)`, or
    `("collector", "--api-url", url)` for cluster collectors (several may share a port).
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        env: dict[str, str] | None = None,
        command: tuple[str, ...] = ("serve",),
    ):
        self.data_dir = Path(data_dir)
        self.command = command
        self.port = port or free_port()
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self._admin_key: str | None = None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60) -> ServerProcess:
        """Start the server and wait until /health answers."""
        log = open(self.data_dir.parent / f"server-{self.port}.log", "ab")  # noqa: SIM115
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "attribo",
                *self.command,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                status, _ = http_json("GET", f"{self.url}/health", timeout=1)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.kill()
        raise TimeoutError("server did not become healthy")

    def stop(self, timeout_s: float = 30) -> int:
        """SIGTERM and wait for a clean exit; returns the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        code = self.process.returncode
        self.process = None
        return code

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def admin_key(self) -> str:
        """An installation-wide admin key, created once through the CLI."""
        if self._admin_key is None:
            self._admin_key = create_key(self.data_dir, "admin", env=self.env)
        return self._admin_key

    def create_app(self, app_id: str, store_urls: dict[str, str] | None = None) -> dict[str, str]:
        """Create an app with the admin key; returns its ingest key and signing secret."""
        urls = store_urls or {
            "ios": "https://apps.apple.com/app/id1",
            "android": "https://play.google.com/store/apps/details?id=com.example",
        }
        status, body = http_json(
            "POST",
            f"{self.url}/v1/apps",
            {"app_id": app_id, "name": app_id, "store_urls": urls},
            self.admin_key(),
        )
        if status != 201:
            raise RuntimeError(f"creating app {app_id}: {status} {body}")
        return dict(body)


def create_key(data_dir: Path, role: str, app_id: str | None = None, env=None) -> str:
    """`attribo keys create`: the key printed alone on stdout."""
    command = [
        sys.executable,
        "-m",
        "attribo",
        "keys",
        "create",
        "--role",
        role,
        "--data-dir",
        str(data_dir),
    ]
    if app_id:
        command += ["--app", app_id]
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return done.stdout.strip()
