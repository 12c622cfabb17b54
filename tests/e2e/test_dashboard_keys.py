"""Settings creates an API key: shown once with a copy button, working, listed by prefix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from conftest import Console, Demo

pytestmark = pytest.mark.e2e


def test_key_created_in_settings_is_shown_once_and_works(
    page: Page, demo: Demo, console: Console, shoot: Callable[[Page, str], Path]
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=demo.url)
    page.goto(f"{demo.url}/settings?app={demo.app_id}")
    form = page.locator("[data-form=key]")
    expect(form).to_be_visible()
    form.locator("select[name=role]").select_option("ingest")
    form.get_by_role("button", name="+ Create key").click()
    shown = page.locator("[data-new-key=ingest]")
    expect(shown).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("not shown again")
    key = shown.locator("[data-url=key]").inner_text()
    assert key.startswith("atb_") and len(key) > 40
    shown.get_by_role("button", name="Copy new key").click()
    expect(shown.get_by_role("button", name="Copy new key")).to_have_text("✓ Copied")
    assert page.evaluate("navigator.clipboard.readText()") == key
    shown.scroll_into_view_if_needed()
    shoot(page, "settings-new-key")

    # The key sends events for this app (an ingest key), and reads nothing.
    event = {
        "event_id": "e2e-key-install",
        "type": "install",
        "app_id": demo.app_id,
        "timestamp": 1_790_000_000_000,
        "device": {"platform": "android", "gaid": "e2e-key-device"},
    }
    auth = {"Authorization": f"Bearer {key}"}
    sent = httpx.post(f"{demo.url}/v1/events", json=event, headers=auth, timeout=30)
    assert sent.status_code == 200, sent.text
    read = httpx.get(f"{demo.url}/v1/apps", headers=auth, timeout=30)
    assert read.status_code == 403
    # Listed by its prefix; audited as created through the API by the admin's key.
    row = page.locator("[aria-labelledby=keys-title] tbody tr", has_text=f"{key[:8]}…")
    expect(row).to_contain_text("ingest")
    expect(row).to_contain_text(demo.app_id)
    entries = demo.get("/v1/audit", app_id=demo.app_id).json()["entries"]
    entry = next(e for e in entries if e["target_id"] == key[:8])
    assert (entry["action"], entry["actor_prefix"]) == ("key.create", demo.admin_key[:8])

    # Shown once: dismissed, or after a reload, the key is nowhere on the page.
    page.click("[data-action=dismiss-key]")
    expect(shown).to_have_count(0)
    page.reload()
    expect(page.locator("[data-form=key]")).to_be_visible()
    expect(row).to_have_count(1)
    assert key not in page.content()
    assert console.errors == []
