"""`POST /v1/keys`: admins create keys over HTTP, shown once, audited like the CLI's."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from attribo.bench.server import ServerProcess, create_key


@pytest.fixture(scope="module")
def tenants(shared_server: ServerProcess) -> Iterator[dict[str, str]]:
    server = shared_server
    keys = {"admin": server.admin_key(), "ingest_a": server.create_app("kc-a")["ingest_key"]}
    server.create_app("kc-b")
    keys["analyst_a"] = create_key(server.data_dir, "analyst", "kc-a")
    keys["admin_a"] = create_key(server.data_dir, "admin", "kc-a")
    yield keys


def _post(server: ServerProcess, key: str, body: object) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/keys", json=body, headers={"Authorization": f"Bearer {key}"}
    )


def _prefixes(server: ServerProcess, admin: str) -> list[str]:
    listed = httpx.get(f"{server.url}/v1/keys", headers={"Authorization": f"Bearer {admin}"})
    return [k["prefix"] for k in listed.json()["keys"]]


def _field(answer: httpx.Response) -> str:
    return answer.json()["detail"][0]["field"]


def test_admin_creates_a_working_key_shown_once_and_audited(
    shared_server: ServerProcess, tenants: dict[str, str]
) -> None:
    server, admin = shared_server, tenants["admin"]
    answer = _post(server, admin, {"role": "analyst", "app_id": "kc-a"})
    assert answer.status_code == 201, answer.text
    created = answer.json()
    key = created["key"]
    assert key.startswith("atb_") and created["prefix"] == key[:8]
    assert (created["role"], created["app_id"]) == ("analyst", "kc-a")
    # It works, with exactly the role and scope asked for.
    apps = httpx.get(f"{server.url}/v1/apps", headers={"Authorization": f"Bearer {key}"})
    assert [a["app_id"] for a in apps.json()["apps"]] == ["kc-a"]
    assert _post(server, key, {"role": "analyst", "app_id": "kc-a"}).status_code == 403
    # Listed by prefix only; audited with the creator's prefix, never the key itself.
    assert created["prefix"] in _prefixes(server, admin)
    listed = httpx.get(f"{server.url}/v1/keys", headers={"Authorization": f"Bearer {admin}"})
    assert key not in listed.text
    audit = httpx.get(
        f"{server.url}/v1/audit",
        params={"app_id": "kc-a"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    entry = next(e for e in audit.json()["entries"] if e["target_id"] == created["prefix"])
    assert entry["action"] == "key.create"
    assert entry["actor_prefix"] == admin[:8] and entry["actor_role"] == "admin"
    assert entry["details"] == {"role": "analyst", "via": "api"}
    assert key not in audit.text
    # An installation-wide admin key needs no app.
    wide = _post(server, admin, {"role": "admin"})
    assert wide.status_code == 201 and wide.json()["app_id"] is None


@pytest.mark.parametrize("who", ["analyst_a", "ingest_a"])
def test_analyst_and_ingest_keys_cannot_create_keys(
    shared_server: ServerProcess, tenants: dict[str, str], who: str
) -> None:
    before = _prefixes(shared_server, tenants["admin"])
    answer = _post(shared_server, tenants[who], {"role": "ingest", "app_id": "kc-a"})
    assert answer.status_code == 403
    assert _prefixes(shared_server, tenants["admin"]) == before


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"role": "owner", "app_id": "kc-a"}, 400, "role"),
        ({"app_id": "kc-a"}, 400, "role"),
        ({"role": "analyst"}, 400, "app_id"),
        ({"role": "ingest", "app_id": "no-such-app"}, 404, "app_id"),
        ({"role": "ingest", "app_id": "bad id!"}, 400, "app_id"),
        ({"role": "ingest", "app_id": "kc-a", "scope": "all"}, 400, "scope"),
    ],
)
def test_bad_bodies_name_the_field(
    shared_server: ServerProcess,
    tenants: dict[str, str],
    body: dict[str, str],
    status: int,
    field: str,
) -> None:
    before = _prefixes(shared_server, tenants["admin"])
    answer = _post(shared_server, tenants["admin"], body)
    assert (answer.status_code, _field(answer)) == (status, field), answer.text
    assert _prefixes(shared_server, tenants["admin"]) == before


def test_an_apps_admin_creates_keys_for_its_app_only(
    shared_server: ServerProcess, tenants: dict[str, str]
) -> None:
    admin_a = tenants["admin_a"]
    assert _post(shared_server, admin_a, {"role": "ingest", "app_id": "kc-a"}).status_code == 201
    for body in ({"role": "admin"}, {"role": "ingest", "app_id": "kc-b"}):
        answer = _post(shared_server, admin_a, body)
        assert (answer.status_code, _field(answer)) == (403, "app_id"), body
