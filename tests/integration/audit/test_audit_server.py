"""Management actions through the real server land in the audit log, newest first."""

from __future__ import annotations

import httpx

from attribo.bench.server import ServerProcess, http_json


def test_management_actions_are_audited(server: ServerProcess) -> None:
    admin = server.admin_key()  # created with the CLI: audited as key.create
    server.create_app("aud-app")
    status, _ = http_json(
        "POST", f"{server.url}/v1/links", {"app_id": "aud-app", "network": "meta"}, admin
    )
    assert status == 201
    auth = {"Authorization": f"Bearer {admin}"}
    settings = httpx.put(
        f"{server.url}/v1/apps/aud-app/settings",
        json={"attribution": {"click_hours": 72}},
        headers=auth,
    )
    assert settings.status_code == 200
    entries = httpx.get(f"{server.url}/v1/audit", headers=auth).json()["entries"]
    actions = [e["action"] for e in entries]
    assert actions[:3] == ["settings.update", "link.create", "app.create"]
    assert "key.create" in actions
    assert all(admin not in str(e) for e in entries)  # never the key itself
