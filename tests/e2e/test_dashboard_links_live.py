"""Settings creates a tracking link; opening it records a click that the Live page streams."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import Page, Route, expect

from conftest import Console, Demo

pytestmark = pytest.mark.e2e

IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def _stored_clicks(demo: Demo, link_id: str) -> list[dict]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lines = demo.get("/v1/events/export", app_id=demo.app_id, type="click").text.splitlines()
        found = [e for e in map(json.loads, lines) if e.get("link_id") == link_id]
        if found:
            return found
        time.sleep(0.3)
    return []


def test_link_created_in_settings_records_a_click_seen_live(
    page: Page, demo: Demo, console: Console
) -> None:
    page.goto(f"{demo.url}/settings?app={demo.app_id}")
    expect(page.locator("[data-form=link]")).to_be_visible()
    form = page.locator("[data-form=link]")
    form.locator("input[name=network]").fill("e2e_network")
    form.locator("input[name=campaign]").fill("e2e_spring_sale")
    form.get_by_role("button", name="+ Create link").click()
    expect(page.get_by_role("status")).to_contain_text("e2e_network")
    row = page.locator("[data-link]", has_text="e2e_spring_sale")
    expect(row).to_have_count(1)
    link_id = row.get_attribute("data-link")
    click_url = row.locator("[data-url=click]").inner_text()
    impression_url = row.locator("[data-url=impression]").inner_text()
    assert click_url == f"{demo.url}/c/{link_id}"
    assert impression_url == f"{demo.url}/i/{link_id}"
    row.get_by_role("button", name="Copy click URL").click()
    expect(row.get_by_role("button", name="Copy click URL")).to_have_text("✓ Copied")

    live = page.context.new_page()
    live.on("console", console.on_message)
    live.goto(f"{demo.url}/live?app={demo.app_id}")
    expect(live.locator("[data-live-status=live]")).to_be_visible(timeout=15_000)

    # A phone opens the link. Its request reaches our server as the browser sent it; the
    # store it is redirected to is outside this machine, so the test stands in for it.
    phone = page.context.browser.new_context(user_agent=IPHONE_UA)
    redirects: list[str] = []

    def through_server(route: Route) -> None:
        answer = route.fetch(max_redirects=0)
        redirects.append(f"{answer.status} {answer.headers.get('location', '')}")
        route.fulfill(status=200, body="the store")

    phone.route(f"{demo.url}/c/**", through_server)
    tab = phone.new_page()
    tab.goto(click_url + "?click_id=e2e-click-1")
    phone.close()
    assert len(redirects) == 1 and redirects[0].startswith("302 https://apps.apple.com/")

    clicks = _stored_clicks(demo, link_id)
    assert [(c["network"], c["campaign"], c["click_id"]) for c in clicks] == [
        ("e2e_network", "e2e_spring_sale", "e2e-click-1")
    ]
    streamed = live.locator("[data-live-event]", has_text="e2e_network")
    expect(streamed).to_have_count(1, timeout=15_000)
    expect(live.locator("[data-kpi=click] [data-value]")).not_to_have_text("0")
    assert console.errors == []


def test_attribution_windows_saved_in_settings_reach_the_api(
    page: Page, demo: Demo, console: Console
) -> None:
    app_id = "demo.runner"  # leaves the first app's attribution as the other tests expect
    page.goto(f"{demo.url}/settings?app={app_id}")
    form = page.locator("[data-form=windows]")
    form.get_by_label("Click (hours)").fill("72")
    form.get_by_label("View (hours)").fill("12")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Attribution windows saved")
    apps = {a["app_id"]: a for a in demo.get("/v1/apps").json()["apps"]}
    assert apps[app_id]["windows"] == {
        "click_hours": 72,
        "view_hours": 12,
        "fingerprint_hours": 24,
    }
    page.reload()
    expect(page.locator("[data-form=windows]").get_by_label("Click (hours)")).to_have_value("72")
    assert console.errors == []


def test_postback_template_added_in_settings_is_listed_by_the_api(
    page: Page, demo: Demo, console: Console
) -> None:
    app_id = "demo.runner"
    url = "https://93.184.216.34/postback?click={click_id}&rev={revenue}"
    page.goto(f"{demo.url}/settings?app={app_id}")
    form = page.locator("[data-form=postback]")
    form.get_by_label("Network *").fill("e2e_postback_net")
    form.get_by_label("Event *").fill("purchase")
    form.get_by_label("URL *").fill(url)
    form.get_by_role("button", name="+ Add template").click()
    expect(page.get_by_role("status")).to_contain_text("Postback template created")
    expect(page.get_by_text(url)).to_be_visible()
    listed = demo.get("/v1/postbacks", app_id=app_id).json()["postbacks"]
    assert [(t["network"], t["event"], t["url"]) for t in listed] == [
        ("e2e_postback_net", "purchase", url)
    ]
    assert console.errors == []
