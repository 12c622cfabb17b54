"""A real HTTP receiver on 127.0.0.1 that records postbacks and answers as a test scripts it."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from attribo.control import ControlPlane

APP = "com.example.game"  # the test modules repeat this id: conftest is not importable


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when the request was read

    @property
    def path(self) -> str:
        """The path without the query."""
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        """The decoded query, blanks kept."""
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)


@dataclass(frozen=True)
class Answer:
    """A scripted answer: status, extra headers, and a delay before answering."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class Receiver:
    """HTTP/1.1 server on its own thread and event loop; one request per connection."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._tls = tls
        self.requests: list[Received] = []
        self._script: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0
        self.active = 0  # requests being answered right now
        self.max_active = 0

    def start(self) -> Receiver:
        """Listen on an ephemeral port of 127.0.0.1."""
        self._thread.start()
        self._ready.wait(5)
        return self

    def stop(self) -> None:
        """Close the listener and the loop's thread."""

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in handlers:  # e.g. a scripted slow answer nobody waits for any more
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def url(self, path: str = "/pb") -> str:
        """An absolute URL on this receiver."""
        return f"http://127.0.0.1:{self.port}{path}"

    @staticmethod
    def answer(
        status: int = 200, headers: dict[str, str] | None = None, delay: float = 0.0
    ) -> Answer:
        """A scripted answer (tests build them here: test modules cannot import conftest)."""
        return Answer(status, headers or {}, delay)

    def script(self, *answers: Answer) -> None:
        """Answer the next requests with these, then 200 again."""
        with self._lock:
            self._script.extend(answers)

    def count(self) -> int:
        """How many requests arrived so far."""
        with self._lock:
            return len(self.requests)

    async def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        """Poll (without blocking the caller's loop) until `n` requests arrived."""
        deadline = time.monotonic() + timeout
        while self.count() < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {n} requests, got {self.count()}")
            await asyncio.sleep(0.01)
        with self._lock:
            return list(self.requests)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def begin() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self._tls)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        self._loop.run_until_complete(begin())
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await reader.readline()).decode("latin-1").strip()
            if not line:
                return
            method, target, _version = line.split(" ", 2)
            headers: dict[str, str] = {}
            while (raw := (await reader.readline()).decode("latin-1").strip()) != "":
                name, _, value = raw.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            with self._lock:
                self.requests.append(Received(method, target, headers, body, time.monotonic()))
                answer = self._script.popleft() if self._script else Answer()
                self.active += 1
                self.max_active = max(self.max_active, self.active)
            try:
                if answer.delay_s:
                    await asyncio.sleep(answer.delay_s)
            finally:
                with self._lock:
                    self.active -= 1
            extra = "".join(f"{k}: {v}\r\n" for k, v in answer.headers.items())
            writer.write(
                f"HTTP/1.1 {answer.status} Scripted\r\nContent-Length: 2\r\n"
                f"Connection: close\r\n{extra}\r\nok".encode("latin-1")
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()


@pytest.fixture
def make_receiver() -> Iterator[Callable[[ssl.SSLContext | None], Receiver]]:
    """Start receivers (HTTPS when given a server context); all stopped after the test."""
    started: list[Receiver] = []

    def make(tls: ssl.SSLContext | None = None) -> Receiver:
        started.append(Receiver(tls).start())
        return started[-1]

    try:
        yield make
    finally:
        for r in started:
            r.stop()


@pytest.fixture
def receiver(make_receiver: Callable[[ssl.SSLContext | None], Receiver]) -> Receiver:
    """A running plain-HTTP receiver, stopped after the test."""
    return make_receiver(None)


@pytest.fixture
def control_path(tmp_path: Path) -> Path:
    """Where the test's control DB lives (reopened by restart tests)."""
    return tmp_path / "control.db"


@pytest.fixture
def control(control_path: Path) -> Iterator[ControlPlane]:
    """A real control plane on a SQLite file with one app that allows private targets."""
    plane = ControlPlane.open(control_path)
    plane.create_app(APP, "Example Game")
    plane.set_app_settings(APP, {"allow_private_postbacks": True})
    try:
        yield plane
    finally:
        plane.close()
