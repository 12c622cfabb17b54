"""Live attribution over real HTTP: tracking links, the install answer, restart, inheritance."""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import httpx

from attribo.bench.server import ServerProcess, http_json
from helpers import export, make_event, wait_stored

ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
)


def make_link(server: ServerProcess, app_id: str, **fields) -> dict:
    body = {"app_id": app_id, "network": "meta", "campaign": "spring", **fields}
    status, link = http_json("POST", f"{server.url}/v1/links", body, server.admin_key())
    assert status == 201, link
    return link


def post(server: ServerProcess, key: str, event: dict) -> dict:
    response = httpx.post(
        f"{server.url}/v1/events", json=event, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_link_click_wins_the_install_with_its_deep_link_and_survives_restart(
    server: ServerProcess,
) -> None:
    app = server.create_app("live-app")
    key = app["ingest_key"]
    link = make_link(server, "live-app", deep_link="myapp://promo/42")
    # A click through the link: the Play referrer carries the click id to the app.
    click = httpx.get(
        link["click_url"], params={"gaid": "GA-1"}, headers={"user-agent": ANDROID_UA}
    )
    assert click.status_code == 302
    referrer = parse_qs(parse_qs(urlsplit(click.headers["location"]).query)["referrer"][0])
    click_id = referrer["attribo_click_id"][0]

    device = {"platform": "android", "gaid": "ga-1", "ip": "81.2.69.160", "os_version": "14"}
    install = make_event("live-app", "inst-1", device=device, click_id=click_id)
    answer = post(server, key, install)["attribution"]
    assert answer["status"] == "attributed"
    assert answer["network"] == "meta" and answer["campaign"] == "spring"
    assert answer["match"] == "click_id"
    assert answer["deep_link"] == "myapp://promo/42"

    # Another device, no click id: a click with its gaid is found by the device match.
    other_link = make_link(server, "live-app", network="tiktok", campaign="summer")
    httpx.get(other_link["click_url"], params={"gaid": "GA-2"}, headers={"user-agent": ANDROID_UA})
    second = {**device, "gaid": "GA-2", "ip": "81.2.69.161"}
    again = post(server, key, make_event("live-app", "inst-2", device=second))["attribution"]
    assert again["status"] == "attributed" and again["match"] == "device"
    assert again["network"] == "tiktok"

    # The first device installs again: its click is older than its last install (rule 5).
    reinstall = post(server, key, make_event("live-app", "inst-3", device=device))
    assert reinstall["attribution"] == {"status": "organic"}

    # A purchase inherits the attribution of its device's latest install (rule 6).
    purchase = make_event("live-app", "buy-1", kind="event", device=second, revenue=4.99)
    post(server, key, purchase)

    # After a restart the answer to a repeated install is the same: state is restored.
    assert server.stop() == 0
    server.start()
    repeat = post(server, key, install)
    assert repeat["duplicates"] == 1
    assert repeat["attribution"] == answer

    wait_stored(server)
    rows = {r["event_id"]: r for r in export(server, server.admin_key(), "live-app")}
    assert rows["inst-1"]["attribution"] == "attributed"
    assert rows["inst-1"]["touch_event_id"] == answer["touch_event_id"]
    assert rows["inst-1"]["match_type"] == "click_id"
    assert rows["inst-3"]["reinstall"] is True
    assert rows["buy-1"]["install_event_id"] == "inst-2"
    assert rows["buy-1"]["attributed_network"] == "tiktok"


def test_install_without_touch_is_organic_and_open_inherits(server: ServerProcess) -> None:
    app = server.create_app("org-app")
    device = {"platform": "ios", "idfa": "ID-9"}
    answer = post(server, app["ingest_key"], make_event("org-app", "i-1", device=device))
    assert answer["attribution"] == {"status": "organic"}
    opened = post(server, app["ingest_key"], make_event("org-app", "o-1", "open", device=device))
    assert opened["attribution"]["status"] == "organic"


def test_attribution_export_has_exactly_the_contract_columns(server: ServerProcess) -> None:
    app = server.create_app("exp-app")
    link = make_link(server, "exp-app")
    httpx.get(link["click_url"], params={"gaid": "GA-7"}, headers={"user-agent": ANDROID_UA})
    device = {"platform": "android", "gaid": "GA-7"}
    post(server, app["ingest_key"], make_event("exp-app", "i-7", device=device))
    post(server, app["ingest_key"], make_event("exp-app", "i-8", device={"platform": "ios"}))
    wait_stored(server)
    url = f"{server.url}/v1/attributions"
    auth = {"Authorization": f"Bearer {server.admin_key()}"}
    lines = httpx.get(url, params={"app_id": "exp-app"}, headers=auth).text.splitlines()
    rows = {r["install_event_id"]: r for r in map(json.loads, lines)}
    assert list(rows["i-7"]) == [
        "install_event_id",
        "status",
        "network",
        "campaign",
        "match",
        "touch_event_id",
        "ctit_s",
        "fraud_score",
        "fraud_verdict",
        "fraud_reasons",
    ]
    assert (rows["i-7"]["status"], rows["i-7"]["match"]) == ("attributed", "device")
    assert rows["i-7"]["ctit_s"] >= 0
    assert rows["i-8"]["status"] == "organic" and rows["i-8"]["network"] is None
    csv = httpx.get(url, params={"app_id": "exp-app", "format": "csv"}, headers=auth).text
    assert csv.splitlines()[0].replace('"', "").startswith("install_event_id,status,network")
    assert len(csv.splitlines()) == 3
    # Another app's ingest key reads nothing.
    other = server.create_app("exp-other")
    denied = httpx.get(
        url,
        params={"app_id": "exp-app"},
        headers={"Authorization": f"Bearer {other['ingest_key']}"},
    )
    assert denied.status_code == 403


def test_retargeting_click_then_open_is_a_reengagement_with_deep_link(
    server: ServerProcess,
) -> None:
    app = server.create_app("re-app")
    key = app["ingest_key"]
    device = {"platform": "android", "gaid": "GA-R"}
    assert post(server, key, make_event("re-app", "ri-1", device=device))["attribution"] == {
        "status": "organic"
    }
    link = make_link(
        server,
        "re-app",
        network="meta",
        campaign="winback",
        retargeting=True,
        deep_link="myapp://sale",
    )
    httpx.get(link["click_url"], params={"gaid": "GA-R"}, headers={"user-agent": ANDROID_UA})
    opened = post(server, key, make_event("re-app", "ro-1", "open", device=device))
    answer = opened["attribution"]
    assert answer["status"] == "reengagement" and answer["campaign"] == "winback"
    assert answer["match"] == "device" and answer["deep_link"] == "myapp://sale"
    # A purchase in the next days is credited to the re-engagement.
    post(server, key, make_event("re-app", "rb-1", kind="event", device=device, revenue=2.0))
    wait_stored(server)
    rows = {r["event_id"]: r for r in export(server, server.admin_key(), "re-app")}
    assert rows["rb-1"]["attribution"] == "reengagement"
    assert rows["rb-1"]["attributed_campaign"] == "winback"
    assert rows["rb-1"]["install_event_id"] == "ri-1"


def test_rebuild_refuses_while_the_server_owns_the_store(server: ServerProcess) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "attribo",
            "attribute",
            "--rebuild",
            "--data-dir",
            str(server.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "stop the server first" in run.stderr
