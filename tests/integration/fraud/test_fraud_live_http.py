"""`attribo serve` with `fraud_live`: the SDK's answer already says `blocked`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from attribo.bench.server import ServerProcess
from helpers import make_event

PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.179 Mobile Safari/537.36"
)


@pytest.fixture
def fraud_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "data", env={"ATTRIBO_FRAUD_LIVE": "true"}).start()
    try:
        yield server
    finally:
        server.stop()


def _click(event_id: str, device: dict) -> dict:
    """A click ten minutes ago (a click seconds before the install would be injection)."""
    event = make_event("fraud-app", event_id, "click", device=device)
    event["timestamp"] -= 600_000
    return event


def _post(server: ServerProcess, key: str, event: dict) -> dict:
    response = httpx.post(
        f"{server.url}/v1/events", json=event, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_bot_install_and_script_click_are_blocked_live(fraud_server: ServerProcess) -> None:
    key = fraud_server.create_app("fraud-app")["ingest_key"]
    phone = {"platform": "android", "ip": "81.2.69.160", "os_version": "14", "user_agent": PHONE_UA}
    # A real phone clicks, then installs: credited as usual.
    _post(fraud_server, key, _click("c-1", {**phone, "gaid": "g-1"}))
    ok = _post(fraud_server, key, make_event("fraud-app", "i-1", device={**phone, "gaid": "g-1"}))
    assert ok["attribution"]["status"] == "attributed"
    # A script clicks for a device: the click is stored blocked and credits nothing.
    other = {**phone, "gaid": "g-2", "ip": "81.2.69.200"}  # no fingerprint with device 1
    script = {**other, "user_agent": "python-requests/2.31.0"}
    _post(fraud_server, key, _click("c-2", script))
    later = _post(fraud_server, key, make_event("fraud-app", "i-2", device=other))
    assert later["attribution"]["status"] == "organic"
    # An install from a cloud data centre with a non-mobile agent: blocked.
    bot = {"platform": "android", "gaid": "g-3", "ip": "34.100.2.3", "os_version": "14"}
    bot["user_agent"] = "curl/8.5.0"
    _post(fraud_server, key, _click("c-3", {**phone, "gaid": "g-3"}))
    blocked = _post(fraud_server, key, make_event("fraud-app", "i-3", device=bot))
    assert blocked["attribution"]["status"] == "blocked"
    # After a restart, the stored verdicts are honoured: the repeat gets the same answers,
    # and the blocked script click still credits nobody.
    repeat = make_event("fraud-app", "i-3", device=bot)
    fifth = {**other, "gaid": "g-5", "ip": "81.2.69.205"}
    _post(fraud_server, key, _click("c-5", {**fifth, "user_agent": "okhttp/4.12.0"}))
    assert fraud_server.stop() == 0
    fraud_server.start()
    again = _post(fraud_server, key, repeat)
    assert again["duplicates"] == 1 and again["attribution"]["status"] == "blocked"
    fresh = _post(fraud_server, key, make_event("fraud-app", "i-5", device=fifth))
    assert fresh["attribution"]["status"] == "organic"


def test_a_farm_filling_its_subnet_across_a_restart_is_still_caught(
    fraud_server: ServerProcess,
) -> None:
    """Twenty idle installs from one /24, a restart, then ten more: the live statistics are
    rebuilt from the store, so the 26th install and after are blocked as without a restart."""
    key = fraud_server.create_app("fraud-app")["ingest_key"]

    def farm(n: int) -> dict:
        device = {"platform": "android", "gaid": f"farm-{n}", "ip": f"10.66.6.{n}"}
        return make_event("fraud-app", f"farm-{n}", device={**device, "user_agent": PHONE_UA})

    before = [_post(fraud_server, key, farm(n))["attribution"]["status"] for n in range(20)]
    assert fraud_server.stop() == 0
    fraud_server.start()
    after = [_post(fraud_server, key, farm(n))["attribution"]["status"] for n in range(20, 30)]
    assert before == ["organic"] * 20
    assert after == ["organic"] * 5 + ["blocked"] * 5
