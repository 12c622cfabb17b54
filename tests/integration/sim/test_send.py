"""`attribo simulate --send` streams a run into a real server, which stores every event."""

from __future__ import annotations

from datetime import date

from rich.console import Console

from attribo.sim import SimRun, load_params
from attribo.sim.command import run_simulate
from helpers import export


def test_send_stores_every_event_but_the_spoofed_ones(server, tmp_path):
    params = load_params(
        installs=1_500, days=5, start=date(2025, 1, 6), seed=21, app_ids=("sim.one", "sim.two")
    )
    apps = [server.create_app(app_id) for app_id in params.app_ids]
    with open(tmp_path / "progress.txt", "w") as progress:
        run_simulate(
            params,
            tmp_path / "out",
            send_url=server.url,
            keys=[a["ingest_key"] for a in apps],
            secrets=[a["signing_secret"] for a in apps],
            console=Console(file=progress, width=300),
        )
    with SimRun(params) as run:
        expected: dict[str, set[str]] = {app_id: set() for app_id in params.app_ids}
        spoofed = 0
        for batch in run.event_batches():
            ids = {line[13 : line.index(b'"', 13)].decode() for line in batch.lines}
            if batch.signature == "bad":
                spoofed += len(ids)
            else:
                expected[batch.app_id] |= ids
    assert spoofed > 0
    admin = server.admin_key()
    for app_id in params.app_ids:
        stored = {row["event_id"] for row in export(server, admin, app_id)}
        assert stored == expected[app_id]
    summary = (tmp_path / "progress.txt").read_text()
    assert f"spoofed (bad signature, 401) {spoofed}" in summary
