"""Every role and app scope against every endpoint: exactly the access it should have.

Two tenants, A and B. For each endpoint that reads or changes tenant A, each kind of key gets
exactly the expected status class, and no key of B (nor an ingest key used for reading)
ever gets A's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from attribo.bench.server import ServerProcess, create_key
from helpers import make_event, now_ms, wait_stored

OK, DENIED, NO_KEY = "ok", 403, 401


@pytest.fixture(scope="module")
def tenants(shared_server: ServerProcess) -> Iterator[dict[str, str]]:
    server = shared_server
    a = server.create_app("mx-a")
    b = server.create_app("mx-b")
    keys = {
        "admin": server.admin_key(),
        "analyst_a": create_key(server.data_dir, "analyst", "mx-a"),
        "analyst_b": create_key(server.data_dir, "analyst", "mx-b"),
        "ingest_a": a["ingest_key"],
        "ingest_b": b["ingest_key"],
    }
    install = make_event("mx-a", "mx-i1", device={"platform": "ios", "idfa": "mx"})
    httpx.post(
        f"{server.url}/v1/events",
        json=install,
        headers={"Authorization": f"Bearer {keys['ingest_a']}"},
    )
    wait_stored(server)
    yield keys


today = datetime.fromtimestamp(now_ms() / 1000, UTC).date().isoformat()
READS = [
    ("/v1/events/export", {"app_id": "mx-a"}),
    ("/v1/attributions", {"app_id": "mx-a"}),
    (
        "/v1/reports/aggregate",
        {"app_id": "mx-a", "metrics": "installs", "from": today, "to": today},
    ),
    (
        "/v1/reports/timeseries",
        {"app_id": "mx-a", "metrics": "installs", "from": today, "to": today},
    ),
    (
        "/v1/reports/cohort",
        {"app_id": "mx-a", "metric": "retention", "from": today, "to": today},
    ),
    ("/v1/reports/retention", {"app_id": "mx-a", "from": today, "to": today}),
    (
        "/v1/reports/funnel",
        {"app_id": "mx-a", "steps": "install,open", "from": today, "to": today},
    ),
    ("/v1/reports/multitouch", {"app_id": "mx-a"}),
    ("/v1/reports/skan", {"app_id": "mx-a"}),
    ("/v1/costs", {"app_id": "mx-a"}),
]
# Who may read tenant A's data.
READ_ACCESS = {
    "admin": OK,
    "analyst_a": OK,
    "analyst_b": DENIED,
    "ingest_a": DENIED,
    "ingest_b": DENIED,
    None: NO_KEY,
}


@pytest.mark.parametrize(("path", "params"), READS, ids=[p for p, _ in READS])
@pytest.mark.parametrize("who", list(READ_ACCESS), ids=str)
def test_reads(shared_server, tenants, path, params, who) -> None:
    headers = {"Authorization": f"Bearer {tenants[who]}"} if who else {}
    response = httpx.get(f"{shared_server.url}{path}", params=params, headers=headers)
    expected = READ_ACCESS[who]
    if expected == OK:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == expected, response.text
        assert "mx-i1" not in response.text


def _writes(server: ServerProcess) -> list[tuple[str, str, dict, dict[str | None, object]]]:
    """(method, path, body, who -> expected) for every endpoint that changes tenant A."""
    event = make_event("mx-a", "mx-w", device={"platform": "ios", "idfa": "w"})
    cost = {
        "rows": [
            {"date": today, "app_id": "mx-a", "network": "meta", "spend": 1.0, "currency": "USD"}
        ]
    }
    admin_only = {
        "admin": OK,
        "analyst_a": DENIED,
        "analyst_b": DENIED,
        "ingest_a": DENIED,
        "ingest_b": DENIED,
        None: NO_KEY,
    }
    return [
        (
            "POST",
            "/v1/events",
            event,
            {
                "admin": DENIED,
                "analyst_a": DENIED,
                "analyst_b": DENIED,
                "ingest_a": OK,
                "ingest_b": DENIED,
                None: NO_KEY,
            },
        ),
        (
            "POST",
            "/v1/costs",
            cost,
            {
                "admin": OK,
                "analyst_a": DENIED,
                "analyst_b": DENIED,
                "ingest_a": OK,
                "ingest_b": DENIED,
                None: NO_KEY,
            },
        ),
        ("POST", "/v1/links", {"app_id": "mx-a", "network": "meta"}, admin_only),
        ("PUT", "/v1/apps/mx-a/settings", {"attribution": {"click_hours": 168}}, admin_only),
        (
            "POST",
            "/v1/postbacks",
            {
                "app_id": "mx-a",
                "network": "meta",
                "event": "install",
                "url": "https://1.1.1.1/pb?c={click_id}",
            },
            admin_only,
        ),
        ("GET", "/v1/audit", {}, admin_only),
    ]


WRITE_IDS = ["events", "costs", "links", "settings", "postbacks", "audit"]


@pytest.mark.parametrize("index", range(len(WRITE_IDS)), ids=WRITE_IDS)
@pytest.mark.parametrize("who", list(READ_ACCESS), ids=str)
def test_writes(shared_server, tenants, index, who) -> None:
    method, path, body, access = _writes(shared_server)[index]
    headers = {"Authorization": f"Bearer {tenants[who]}"} if who else {}
    kwargs = {"json": body} if method != "GET" else {}
    response = httpx.request(method, f"{shared_server.url}{path}", headers=headers, **kwargs)
    expected = access[who]
    if expected == OK:
        assert 200 <= response.status_code < 300, response.text
    else:
        assert response.status_code == expected, response.text
