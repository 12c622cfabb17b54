"""An attributed install through the real server reaches the network's postback URL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from attribo.bench.server import ServerProcess, http_json
from helpers import make_event, recording_network


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[str]]]:
    with recording_network() as network:
        yield network


def test_attributed_install_is_posted_back_once(server: ServerProcess, receiver) -> None:
    base, seen = receiver
    admin = server.admin_key()
    app = server.create_app("pb-app")
    auth = {"Authorization": f"Bearer {admin}"}
    settings = httpx.put(
        f"{server.url}/v1/apps/pb-app/settings",
        json={"allow_private_postbacks": True, "attribution": {"click_hours": 48}},
        headers=auth,
    )
    assert settings.status_code == 200, settings.text
    template = {
        "app_id": "pb-app",
        "network": "meta",
        "event": "install",
        "url": base + "/pb?click={click_id}&gaid={gaid}&c={campaign}&m={match}",
    }
    status, created = http_json("POST", f"{server.url}/v1/postbacks", template, admin)
    assert status == 201, created
    status, link = http_json(
        "POST",
        f"{server.url}/v1/links",
        {"app_id": "pb-app", "network": "meta", "campaign": "spring sale"},
        admin,
    )
    httpx.get(link["click_url"], params={"gaid": "GA-5"})
    install = make_event("pb-app", "pb-i1", device={"platform": "android", "gaid": "ga-5"})
    key = {"Authorization": f"Bearer {app['ingest_key']}"}
    assert httpx.post(f"{server.url}/v1/events", json=install, headers=key).status_code == 200
    httpx.post(f"{server.url}/v1/events", json=install, headers=key)  # a repeat: no 2nd postback
    organic = make_event("pb-app", "pb-i2", device={"platform": "ios", "idfa": "x-1"})
    httpx.post(f"{server.url}/v1/events", json=organic, headers=key)

    deadline = time.monotonic() + 15
    while not seen and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # would a duplicate or the organic install arrive too?
    assert len(seen) == 1
    query = parse_qs(urlsplit(seen[0]).query)
    assert query["gaid"] == ["ga-5"] and query["c"] == ["spring sale"] and query["m"] == ["device"]

    bad = httpx.put(f"{server.url}/v1/apps/pb-app/settings", json={"colour": 1}, headers=auth)
    assert bad.status_code == 400 and bad.json()["detail"][0]["field"] == "colour"
