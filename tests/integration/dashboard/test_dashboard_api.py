"""The endpoints the dashboard needs besides reports: listings, the live stream, the web files."""

from __future__ import annotations

import json
import threading
import time

import httpx

from attribo.bench.server import ServerProcess, create_key
from helpers import make_event


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_listings_are_scoped_and_never_show_secrets(server: ServerProcess) -> None:
    admin = server.admin_key()
    server.create_app("app-a")
    server.create_app("app-b")
    analyst_a = create_key(server.data_dir, "analyst", "app-a")
    link = httpx.post(
        f"{server.url}/v1/links",
        json={"app_id": "app-a", "network": "meta", "campaign": "spring"},
        headers=_auth(admin),
    ).json()

    apps = httpx.get(f"{server.url}/v1/apps", headers=_auth(admin)).json()["apps"]
    assert [a["app_id"] for a in apps] == ["app-a", "app-b"]
    assert apps[0]["windows"] == {"click_hours": 168, "view_hours": 24, "fingerprint_hours": 24}
    assert all("signing_secret" not in a for a in apps)
    scoped = httpx.get(f"{server.url}/v1/apps", headers=_auth(analyst_a)).json()["apps"]
    assert [a["app_id"] for a in scoped] == ["app-a"]

    links = httpx.get(
        f"{server.url}/v1/links", params={"app_id": "app-a"}, headers=_auth(analyst_a)
    ).json()["links"]
    assert [(x["link_id"], x["campaign"]) for x in links] == [(link["link_id"], "spring")]
    assert links[0]["click_url"] == link["click_url"]
    assert links[0]["impression_url"] == link["impression_url"]
    other = httpx.get(
        f"{server.url}/v1/links", params={"app_id": "app-b"}, headers=_auth(analyst_a)
    )
    assert other.status_code == 403

    keys = httpx.get(f"{server.url}/v1/keys", headers=_auth(admin)).json()["keys"]
    assert {k["role"] for k in keys} >= {"admin", "analyst"}
    assert admin[:8] in {k["prefix"] for k in keys}
    assert all(admin not in json.dumps(k) for k in keys)
    assert httpx.get(f"{server.url}/v1/keys", headers=_auth(analyst_a)).status_code == 403


def test_live_stream_carries_new_events_of_its_app_only(server: ServerProcess) -> None:
    admin = server.admin_key()
    ingest_a = server.create_app("live-a")["ingest_key"]
    ingest_b = server.create_app("live-b")["ingest_key"]
    frames: list[dict] = []

    def listen() -> None:
        with httpx.stream(
            "GET",
            f"{server.url}/v1/live",
            params={"app_id": "live-a", "max_s": "4"},
            headers=_auth(admin),
            timeout=10,
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line.startswith("data: ") and line != "data: {}":
                    frames.append(json.loads(line[6:]))

    listener = threading.Thread(target=listen)
    listener.start()
    time.sleep(1.0)  # the subscription is registered once the hello frame went out
    for key, app in ((ingest_b, "live-b"), (ingest_a, "live-a")):
        answer = httpx.post(
            f"{server.url}/v1/events", json=make_event(app, f"{app}-i1"), headers=_auth(key)
        )
        assert answer.status_code == 200
    listener.join(10)
    events = [e for f in frames for e in f["events"]]
    assert [(e["event_id"], e["type"], e["attribution"]) for e in events] == [
        ("live-a-i1", "install", "organic")
    ]
    assert "ip" not in events[0] and "idfa" not in events[0]


def test_live_stream_refuses_unknown_apps_and_bad_durations(server: ServerProcess) -> None:
    admin = server.admin_key()
    server.create_app("live-c")
    missing = httpx.get(f"{server.url}/v1/live", params={"app_id": "nope"}, headers=_auth(admin))
    assert missing.status_code == 404
    bad = httpx.get(
        f"{server.url}/v1/live", params={"app_id": "live-c", "max_s": "0"}, headers=_auth(admin)
    )
    assert bad.status_code == 400 and bad.json()["detail"][0]["field"] == "max_s"


def test_api_paths_keep_json_404s_and_priority(server: ServerProcess) -> None:
    assert httpx.get(f"{server.url}/health").json()["status"] == "ok"
    missing = httpx.get(f"{server.url}/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    asset = httpx.get(f"{server.url}/assets/missing-0000.js")
    assert asset.status_code == 404


def test_dashboard_route_leaves_api_methods_alone(server: ServerProcess) -> None:
    # A POST-only API path still answers 405 to GET, and an unknown method path 404.
    wrong_method = httpx.get(f"{server.url}/v1/skan/postbacks")
    assert wrong_method.status_code == 405
    assert httpx.delete(f"{server.url}/v1/postbacks/not-a-number").status_code == 404
    assert httpx.post(f"{server.url}/campaigns").status_code == 404


def test_listings_refuse_unknown_parameters_and_apps(server: ServerProcess) -> None:
    admin = _auth(server.admin_key())
    typo = httpx.get(f"{server.url}/v1/links", params={"app": "x", "app_id": "x"}, headers=admin)
    assert typo.status_code == 400 and typo.json()["detail"][0]["field"] == "app"
    missing = httpx.get(f"{server.url}/v1/links", params={"app_id": "nope"}, headers=admin)
    assert missing.status_code == 404
    assert httpx.get(f"{server.url}/v1/apps", params={"x": "1"}, headers=admin).status_code == 400
