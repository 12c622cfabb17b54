"""Dedup holds across restarts, and the store never keeps a repeat even past the window."""

from __future__ import annotations

import httpx

from attribo.bench.server import ServerProcess
from helpers import export, make_event


def send(server: ServerProcess, key: str, events: list[dict]) -> dict:
    response = httpx.post(
        f"{server.url}/v1/events/batch",
        json={"events": events},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_repeats_after_restart_are_counted_and_not_stored(server):
    app = server.create_app("restart-app")
    events = [make_event("restart-app", f"r-{i}") for i in range(300)]
    assert send(server, app["ingest_key"], events[:200]) == {"accepted": 200, "duplicates": 0}
    assert server.stop() == 0
    server.start()
    # Half repeat the events stored before the restart; the rest are new.
    answer = send(server, app["ingest_key"], events[100:])
    assert answer == {"accepted": 200, "duplicates": 100}
    rows = export(server, server.admin_key(), "restart-app")
    assert sorted(r["event_id"] for r in rows) == sorted(e["event_id"] for e in events)


def test_store_is_exactly_once_beyond_the_dedup_window(data_dir):
    server = ServerProcess(data_dir, env={"ATTRIBO_DEDUP_WINDOW_HOURS": "0"}).start()
    try:
        app = server.create_app("window-app")
        events = [make_event("window-app", f"w-{i}") for i in range(50)]
        send(server, app["ingest_key"], events)
        export(server, server.admin_key(), "window-app")
        # With no in-memory window the repeat is not recognised at the door...
        again = send(server, app["ingest_key"], events)
        assert again["duplicates"] == 0
        # ...but the store still keeps each event once.
        rows = export(server, server.admin_key(), "window-app")
        assert len(rows) == 50
    finally:
        assert server.stop() == 0
