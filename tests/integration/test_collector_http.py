"""The collector over real HTTP: protocol v1 answers, errors that name fields, links."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from attribo.bench.server import ServerProcess
from helpers import export, make_event, now_ms

IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
)


@pytest.fixture(scope="module")
def app(shared_server: ServerProcess) -> dict[str, str]:
    return shared_server.create_app("http-app")


def post(server: ServerProcess, path: str, body, key: str | None, **kw) -> httpx.Response:
    headers = kw.pop("headers", {})
    if key:
        headers["Authorization"] = f"Bearer {key}"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{server.url}{path}", content=content, headers=headers, timeout=30, **kw)


def fields_of(response: httpx.Response) -> list[str]:
    body = response.json()
    assert "error" in body
    return [d["field"] for d in body["detail"]]


def test_health_answers_ok(shared_server):
    response = httpx.get(f"{shared_server.url}/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    # The server times its GC pauses and has frozen its start-up state out of their reach.
    assert len(body["gc_collections"]) == 3 and sum(body["gc_collections"]) > 0
    assert body["gc_pause_max_ms"] > 0 and body["gc_frozen_objects"] > 0


def test_single_event_is_stored_once_and_enriched(shared_server, app):
    key = app["ingest_key"]
    event = make_event(
        "http-app",
        "single-1",
        device={"ip": "81.2.69.160", "user_agent": IPHONE_UA, "idfa": "AB-CD"},
    )
    first = post(shared_server, "/v1/events", event, key)
    again = post(shared_server, "/v1/events", event, key)
    organic = {"status": "organic"}  # no touch: the answer says so, also to a repeat
    assert first.json() == {"accepted": 1, "duplicates": 0, "attribution": organic}
    assert again.json() == {"accepted": 1, "duplicates": 1, "attribution": organic}
    rows = [
        r
        for r in export(shared_server, key=shared_server.admin_key(), app_id="http-app")
        if r["event_id"] == "single-1"
    ]
    assert len(rows) == 1
    row = rows[0]
    assert (row["platform"], row["os_name"], row["os_version"]) == ("ios", "iOS", "17.4")
    assert row["country"] == "GB" and row["idfa"] == "ab-cd"
    assert row["event_time"] == event["timestamp"]
    assert row["received_at"] >= row["event_time"]


def test_rfc3339_timestamp_is_accepted(shared_server, app):
    event = make_event("http-app", "rfc-1")
    event["timestamp"] = "2026-01-02T03:04:05.678+01:00"
    assert post(shared_server, "/v1/events", event, app["ingest_key"]).status_code == 200
    rows = [
        r
        for r in export(shared_server, shared_server.admin_key(), "http-app")
        if r["event_id"] == "rfc-1"
    ]
    assert rows[0]["event_time"] == 1767319445678


def test_batch_keeps_valid_events_and_reports_bad_ones_by_index(shared_server, app):
    events = [
        make_event("http-app", "b-ok-1"),
        {"event_id": "b-bad-1", "type": "teleport", "app_id": "http-app", "timestamp": now_ms()},
        make_event("http-app", "b-ok-2", kind="click"),
        {"event_id": "b-bad-2", "type": "install", "app_id": "http-app"},
        make_event("http-app", "b-bad-3", device={"ip": "999.1.1.1"}),
    ]
    response = post(shared_server, "/v1/events/batch", {"events": events}, app["ingest_key"])
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 0, 3)
    assert [(d["index"], d["field"]) for d in body["detail"]] == [
        (1, "type"),
        (3, "timestamp"),
        (4, "device.ip"),
    ]
    stored = {r["event_id"] for r in export(shared_server, shared_server.admin_key(), "http-app")}
    assert {"b-ok-1", "b-ok-2"} <= stored
    assert not stored & {"b-bad-1", "b-bad-2", "b-bad-3"}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 400, "body"),
        (b"[]", 400, "body"),
        ({"event_id": 5, "type": "install", "app_id": "http-app", "timestamp": 1}, 400, "event_id"),
        ({"type": "install", "app_id": "http-app", "timestamp": 1767225600000}, 400, "event_id"),
        ({**make_event("http-app", "u1"), "colour": "red"}, 400, "colour"),
        ({**make_event("http-app", "u2"), "device": {"wheels": 4}}, 400, "device.wheels"),
        ({**make_event("http-app", "t1"), "timestamp": 42}, 400, "timestamp"),
        ({**make_event("http-app", "t2"), "timestamp": 32503680000000}, 400, "timestamp"),
        ({**make_event("http-app", "t3"), "timestamp": "2026-01-01T00:00:00"}, 400, "timestamp"),
        ({**make_event("http-app", "r1", kind="event"), "revenue": "lots"}, 400, "revenue"),
        (
            b'{"event_id":"r2","type":"event","name":"x","app_id":"http-app","timestamp":'
            + str(now_ms()).encode()
            + b',"revenue":1e999}',
            400,
            "revenue",
        ),
        (
            {"event_id": "x" * 65, "type": "open", "app_id": "http-app", "timestamp": 1},
            400,
            "event_id",
        ),
    ],
)
def test_bad_single_events_name_the_field(shared_server, app, body, status, field):
    response = post(shared_server, "/v1/events", body, app["ingest_key"])
    assert response.status_code == status
    assert fields_of(response) == [field]


def test_too_many_events_and_too_large_bodies(shared_server, app):
    key = app["ingest_key"]
    many = {"events": [make_event("http-app", f"m{i}") for i in range(1001)]}
    response = post(shared_server, "/v1/events/batch", many, key)
    assert response.status_code == 400 and fields_of(response) == ["events"]
    huge = b'{"events": [' + b" " * (1 << 20) + b"]}"
    response = post(shared_server, "/v1/events/batch", huge, key)
    assert response.status_code == 413 and fields_of(response) == ["body"]


def test_keys_are_required_and_checked(shared_server, app):
    event = make_event("http-app", "k1")
    assert fields_of(post(shared_server, "/v1/events", event, None)) == ["Authorization"]
    response = post(shared_server, "/v1/events", event, "atb_not-a-real-key")
    assert response.status_code == 401 and fields_of(response) == ["Authorization"]
    response = post(
        shared_server, "/v1/events", event, None, headers={"Authorization": "Basic abc"}
    )
    assert response.status_code == 401
    response = post(shared_server, "/v1/events", event, shared_server.admin_key())
    assert response.status_code == 403


def test_signed_requests(shared_server, app):
    body = json.dumps(make_event("http-app", "signed-1")).encode()
    digest = hmac.new(app["signing_secret"].encode(), body, hashlib.sha256).hexdigest()
    ok = post(
        shared_server,
        "/v1/events",
        body,
        app["ingest_key"],
        headers={"X-Attribo-Signature": f"sha256={digest}"},
    )
    assert ok.status_code == 200
    forged = post(
        shared_server,
        "/v1/events",
        json.dumps(make_event("http-app", "signed-2")).encode(),
        app["ingest_key"],
        headers={"X-Attribo-Signature": f"sha256={digest}"},
    )
    assert forged.status_code == 401 and fields_of(forged) == ["X-Attribo-Signature"]
    plain = post(
        shared_server, "/v1/events", make_event("http-app", "unsigned-1"), app["ingest_key"]
    )
    assert plain.status_code == 200
    rows = {r["event_id"]: r for r in export(shared_server, shared_server.admin_key(), "http-app")}
    assert rows["signed-1"]["signed"] is True
    assert rows["unsigned-1"]["signed"] is False
    assert "signed-2" not in rows


def test_tracking_links_record_and_redirect(shared_server, app):
    admin = shared_server.admin_key()
    link = post(
        shared_server,
        "/v1/links",
        {"app_id": "http-app", "network": "tiktok", "campaign": "spring"},
        admin,
    )
    assert link.status_code == 201
    click_url = link.json()["click_url"]
    to_ios = httpx.get(click_url, headers={"User-Agent": IPHONE_UA}, params={"adset": "a1"})
    assert to_ios.status_code == 302
    assert to_ios.headers["location"] == "https://apps.apple.com/app/id1"
    to_play = httpx.get(
        click_url,
        headers={"User-Agent": ANDROID_UA},
        params={"click_id": "net-click-9", "gaid": "G-1"},
    )
    assert to_play.status_code == 302
    referrer = parse_qs(urlsplit(to_play.headers["location"]).query)["referrer"][0]
    assert parse_qs(referrer) == {"attribo_click_id": ["net-click-9"]}
    seen = httpx.get(link.json()["impression_url"], headers={"User-Agent": ANDROID_UA})
    assert seen.status_code == 204
    rows = [
        r
        for r in export(shared_server, admin, "http-app", type="click,impression")
        if r["network"] == "tiktok"
    ]
    kinds = sorted(r["type"] for r in rows)
    assert kinds == ["click", "click", "impression"]
    android_click = next(r for r in rows if r["click_id"] == "net-click-9")
    assert (android_click["platform"], android_click["gaid"]) == ("android", "g-1")
    assert android_click["campaign"] == "spring" and android_click["ip"] == "127.0.0.1"
    ios_click = next(r for r in rows if r["type"] == "click" and r["platform"] == "ios")
    assert ios_click["adset"] == "a1"
    assert httpx.get(f"{shared_server.url}/c/nope").status_code == 404
    too_long = httpx.get(click_url, params={"idfa": "x" * 65})
    assert too_long.status_code == 400 and fields_of(too_long) == ["idfa"]


def test_unknown_paths_and_methods_answer_json(shared_server):
    missing = httpx.get(f"{shared_server.url}/v2/nothing")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = httpx.get(f"{shared_server.url}/v1/events")
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"


def test_openapi_and_docs(shared_server):
    spec = httpx.get(f"{shared_server.url}/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    for path in (
        "/v1/events",
        "/v1/events/batch",
        "/c/{link_id}",
        "/i/{link_id}",
        "/health",
        "/v1/apps",
        "/v1/links",
        "/v1/events/export",
    ):
        assert path in spec["paths"]
    assert "Event" in spec["components"]["schemas"]
    docs = httpx.get(f"{shared_server.url}/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
