"""The cluster profile as separate processes: two collectors, `attribo api`, `attribo worker`.

Two collectors share one port (SO_REUSEPORT) and forward every path they do not serve to the
API process, which runs the attributing worker. The same traffic gives the embedded server's
answers, attributions and reports; killing the worker or a collector mid-stream loses no
acknowledged event and stores none twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cluster_services import cluster_env, drop_namespace, service_missing
from cluster_traffic import REPORTED, attributions, report, send, send_batches, traffic

from attribo.bench.server import ServerProcess, free_port
from helpers import export, make_event, now_ms, recording_network, wait_stored

pytest.importorskip("chdb", reason="chdb is in the cluster extra")
pytest.importorskip("nats", reason="nats-py is in the cluster extra")


@dataclass
class Split:
    """One API (with the worker) and two collectors on one shared port."""

    api: ServerProcess
    collectors: list[ServerProcess]
    env: dict[str, str]
    data: Path

    @property
    def url(self) -> str:
        return self.collectors[0].url


def _start(process: ServerProcess, tmp_path: Path) -> ServerProcess:
    try:
        return process.start()
    except (RuntimeError, TimeoutError) as exc:
        logs = "\n".join(p.read_text(errors="replace")[-1500:] for p in tmp_path.glob("*.log"))
        service_missing(f"{process.command[0]} did not start ({exc}); services up?\n{logs}")
        raise


@pytest.fixture(params=["app"])
def split(namespace: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Split]:
    """The split processes; the param: what the stream is partitioned by."""
    data = tmp_path / "cluster"
    env = {**cluster_env(namespace, str(data)), "ATTRIBO_PARTITION_BY": request.param}
    api = _start(ServerProcess(data, env=env, command=("api",)), tmp_path)
    port = free_port()
    collectors = [
        _start(
            ServerProcess(data, port=port, env=env, command=("collector", "--api-url", api.url)),
            tmp_path,
        )
        for _ in range(2)
    ]
    try:
        yield Split(api, collectors, env, data)
    finally:
        for process in (*collectors, api):
            process.kill()
        drop_namespace(namespace)


def test_collectors_share_a_port_and_forward_the_rest(split: Split) -> None:
    health = httpx.get(f"{split.url}/health").json()
    assert health["role"] == "collector"
    docs = httpx.get(f"{split.url}/openapi.json")  # served by the API, through a collector
    assert docs.status_code == 200 and "/v1/events" in docs.json()["paths"]
    created = split.collectors[0].create_app("fwd.app")
    assert created["ingest_key"]
    denied = httpx.get(f"{split.url}/v1/apps", headers={"Authorization": "Bearer nope"})
    assert denied.status_code == 401 and denied.json()["error"] == "unauthorized"
    headers = {"Authorization": f"Bearer {created['ingest_key']}"}
    for i in range(40):  # a new connection each time: the kernel spreads them
        event = make_event("fwd.app", f"e{i}", "event", name="level_up")
        body = httpx.post(f"{split.url}/v1/events", json=event, headers=headers).json()
        assert body == {"accepted": 1, "duplicates": 0}
    latest: dict[int, int] = {}
    for _ in range(40):
        health = httpx.get(f"{split.url}/health").json()
        latest[health["pid"]] = health["accepted"]
    assert len(latest) == 2, "both collectors should take connections on the shared port"
    assert sum(latest.values()) == 40
    rows = export(split.api, split.api.admin_key(), "fwd.app")
    assert sorted(r["event_id"] for r in rows) == sorted(f"e{i}" for i in range(40))


def test_split_and_embedded_agree_on_the_same_traffic(split: Split, tmp_path: Path) -> None:
    events = traffic("same.app", seed=11)
    embedded = ServerProcess(tmp_path / "embedded").start()
    front = split.collectors[0]
    front._admin_key = split.api.admin_key()
    try:
        answers, keys = {}, {}
        for server in (embedded, front):
            keys[server] = server.create_app("same.app")["ingest_key"]
            answers[server] = send(server, keys[server], events)
        assert answers[front] == answers[embedded]  # live answers, install by install
        assert any(a.get("attribution", {}).get("status") == "attributed" for a in answers[front])
        expected = attributions(embedded, "same.app")
        assert len(expected) == sum(e["type"] == "install" for e in events)
        assert attributions(front, "same.app", pipeline=split.api) == expected
        for metric in REPORTED:
            if metric in ("cost", "cpm"):
                continue  # no cost upload here; the one-process test covers costs
            expected_report = report(embedded, "same.app", metric)
            assert expected_report["rows"], metric
            assert report(front, "same.app", metric) == expected_report
        # A repeated install anywhere gets the first answer (kept in Redis by the worker).
        install = next(e for e in events if e["type"] == "install")
        first = answers[front][events.index(install)]
        again = [
            httpx.post(
                f"{front.url}/v1/events",
                json=install,
                headers={"Authorization": f"Bearer {keys[front]}"},
            ).json()
            for _ in range(3)
        ]
        assert all(a["duplicates"] == 1 and a["attribution"] == first["attribution"] for a in again)
    finally:
        assert embedded.stop() == 0


def _load(url: str, key: str, tag: str, acked: set[str], lock) -> tuple[threading.Event, list]:  # type: ignore[no-untyped-def]
    stop = threading.Event()
    threads = [
        threading.Thread(target=send_batches, args=(url, key, f"{tag}t{n}", acked, lock, stop, 20))
        for n in range(3)
    ]
    for thread in threads:
        thread.start()
    return stop, threads


def _stored_once(split: Split, acked: set[str]) -> None:
    wait_stored(split.api, timeout_s=60)
    rows = export(split.api, split.api.admin_key(), "crash.app")
    stored = [r["event_id"] for r in rows]
    assert len(stored) == len(set(stored)), "an event was stored twice"
    missing = acked - set(stored)
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:5]}"
    assert len(acked) > 500, "the load was too light to mean anything"


@pytest.mark.slow
@pytest.mark.parametrize("split", ["app", "device"], indirect=True)
def test_worker_killed_mid_stream_loses_nothing(split: Split) -> None:
    key = split.collectors[0].create_app("crash.app")["ingest_key"]
    acked: set[str] = set()
    lock = threading.Lock()
    for cycle in range(2):
        stop, threads = _load(split.url, key, f"w{cycle}", acked, lock)
        time.sleep(1.0)
        split.api.kill()  # the worker dies with it; collectors keep acknowledging
        time.sleep(1.0)
        before = len(acked)
        time.sleep(0.5)
        with lock:
            assert len(acked) > before, "collectors stopped acknowledging without the worker"
        split.api.start()
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(60)
    _stored_once(split, acked)


@pytest.mark.slow
@pytest.mark.parametrize("split", ["app", "device"], indirect=True)
def test_collector_killed_while_serving_loses_nothing(split: Split) -> None:
    key = split.collectors[0].create_app("crash.app")["ingest_key"]
    acked: set[str] = set()
    lock = threading.Lock()
    stop, threads = _load(split.url, key, "c", acked, lock)
    time.sleep(1.0)
    split.collectors[1].kill()  # in the middle of requests; the other one takes the retries
    time.sleep(1.5)
    stop.set()
    for thread in threads:
        thread.join(60)
    _stored_once(split, acked)
    # Nothing acknowledged is taken again: every acknowledged id is now a duplicate.
    sample = sorted(acked)[:50]
    again = httpx.post(
        f"{split.url}/v1/events/batch",
        json={"events": [make_event("crash.app", event_id) for event_id in sample]},
        headers={"Authorization": f"Bearer {key}"},
    ).json()
    assert again == {"accepted": 50, "duplicates": 50}


@pytest.mark.slow
def test_standalone_worker_killed_and_restarted(split: Split, tmp_path: Path) -> None:
    """`attribo worker` alone owns the store (no API): SIGKILL, restart, drain, then read."""
    key = split.collectors[0].create_app("crash.app")["ingest_key"]
    admin = split.api.admin_key()
    assert split.api.stop() == 0  # hand the store over to a worker process
    for collector in split.collectors:
        collector.stop()
    lone = _start(ServerProcess(split.data, env=split.env, command=("collector",)), tmp_path)
    worker = _WorkerProcess(split.data, split.env)
    try:
        acked: set[str] = set()
        lock = threading.Lock()
        stop, threads = _load(lone.url, key, "s", acked, lock)
        click = make_event(
            "crash.app", "click-z", "click", device={"platform": "ios", "idfa": "ZZZZ"},
            source={"network": "meta", "campaign": "late"}, timestamp=now_ms() - 60_000,
        )  # fmt: skip
        auth = {"Authorization": f"Bearer {key}"}
        assert httpx.post(f"{lone.url}/v1/events", json=click, headers=auth).status_code == 200
        for _ in range(2):
            worker.start()
            time.sleep(1.5)
            worker.kill()
        worker.start()
        stop.set()
        for thread in threads:
            thread.join(60)
        assert worker.stop() == 0  # drains the stream into the store
    finally:
        lone.kill()
        worker.kill()
    split.api._admin_key = admin
    split.api.start()
    _stored_once(split, acked)
    # The index is rebuilt from the store: an install now is matched to that click.
    install = make_event(
        "crash.app", "install-z", "install", device={"platform": "ios", "idfa": "ZZZZ"},
        timestamp=now_ms() - 1000,
    )  # fmt: skip
    answer = httpx.post(f"{split.api.url}/v1/events", json=install, headers=auth).json()
    assert answer["attribution"]["touch_event_id"] == "click-z", answer


def test_standalone_worker_sends_postbacks(split: Split, tmp_path: Path) -> None:
    """Postbacks leave from whichever worker attributes the install, not only `attribo api`."""
    with recording_network() as (base, seen):
        _postbacks_from_a_lone_worker(split, tmp_path, base, seen)


def _postbacks_from_a_lone_worker(split: Split, tmp_path: Path, base: str, seen: list) -> None:
    admin = split.api.admin_key()
    key = split.api.create_app("pb.app")["ingest_key"]
    settings = {"allow_private_postbacks": True}
    auth = {"Authorization": f"Bearer {admin}"}
    put = httpx.put(f"{split.api.url}/v1/apps/pb.app/settings", json=settings, headers=auth)
    assert put.status_code == 200, put.text
    template = {
        "app_id": "pb.app",
        "network": "meta",
        "event": "install",
        "url": f"{base}/pb?id={{event_id}}&c={{campaign}}",
    }
    created = httpx.post(f"{split.api.url}/v1/postbacks", json=template, headers=auth)
    assert created.status_code == 201, created.text
    assert split.api.stop() == 0  # the worker process alone attributes from here
    for collector in split.collectors:
        collector.stop()
    lone = _start(ServerProcess(split.data, env=split.env, command=("collector",)), tmp_path)
    worker = _WorkerProcess(split.data, split.env)
    ingest = {"Authorization": f"Bearer {key}"}
    try:
        worker.start()
        device = {"platform": "ios", "idfa": "PB-1"}
        click = make_event(
            "pb.app", "pb-click", "click", device=device,
            source={"network": "meta", "campaign": "winter"}, timestamp=now_ms() - 60_000,
        )  # fmt: skip
        organic = make_event("pb.app", "pb-organic", device={"platform": "ios", "idfa": "PB-2"})
        install = make_event("pb.app", "pb-install", device=device, timestamp=now_ms() - 1000)
        for event in (click, organic, install):
            sent = httpx.post(f"{lone.url}/v1/events", json=event, headers=ingest)
            assert sent.status_code == 200, sent.text
        deadline = time.monotonic() + 20
        while not seen and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # the organic install must not be posted back
        assert seen == ["/pb?id=pb-install&c=winter"]
        assert worker.stop() == 0
    finally:
        lone.kill()
        worker.kill()


class _WorkerProcess:
    """`attribo worker` in its own process group (no HTTP to wait on)."""

    def __init__(self, data: Path, env: dict[str, str]) -> None:
        self._data = data
        self._env = {**os.environ, **env}
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60) -> None:
        """Start it and wait for its log to say it is consuming."""
        path = self._data.parent / "worker.log"
        before = path.read_text().count("started") if path.exists() else 0
        with open(path, "ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "attribo", "worker", "--data-dir", str(self._data)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while path.read_text().count("started") == before:
            assert self._process.poll() is None, path.read_text()[-2000:]
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def stop(self) -> int:
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        return self._process.wait(120)


def test_a_forwarded_request_draws_on_its_key_budget_once(namespace: str, tmp_path: Path) -> None:
    """Through a collector, a management call costs one token of the key's budget, as direct."""
    data = tmp_path / "limited"
    env = {**cluster_env(namespace, str(data)), "ATTRIBO_RATE_LIMIT_API_PER_S": "2"}
    api = _start(ServerProcess(data, env=env, command=("api",)), tmp_path)
    collector = _start(
        ServerProcess(data, env=env, command=("collector", "--api-url", api.url)), tmp_path
    )
    try:
        auth = {"Authorization": f"Bearer {api.admin_key()}"}
        with httpx.Client(headers=auth, timeout=10) as client:
            codes = [client.get(f"{collector.url}/v1/apps").status_code for _ in range(10)]
        assert codes[:4] == [200] * 4, codes  # the burst: twice the rate of 2 a second
        assert 429 in codes, codes  # and the API process still enforces it
    finally:
        collector.kill()
        api.kill()
        drop_namespace(namespace)
