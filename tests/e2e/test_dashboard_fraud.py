"""The Fraud page shows the fraud report's numbers and drills down to one blocked install."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from conftest import Console, Demo, settle

pytestmark = pytest.mark.e2e


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def _kpi(page: Page, name: str) -> str:
    return page.locator(f"[data-kpi={name}] [data-value]").inner_text()


def test_fraud_page_shows_the_reports_numbers(page: Page, demo: Demo, console: Console) -> None:
    page.goto(f"{demo.url}/fraud?by=site")
    settle(page)
    report = demo.get("/v1/reports/fraud", app_id=demo.app_id).json()
    assert report["blocked_installs"] > 0, "the simulated month has a fraudulent network"
    # The page shows the rescan the API answers with (the report is cached until the next one).
    rescanned = page.locator("[data-rescanned]").get_attribute("data-rescanned")
    assert rescanned == str(report["rescanned_at"])
    assert _kpi(page, "blocked_installs") == f"{report['blocked_installs']:,}"
    assert _kpi(page, "blocked_spend") == _usd(report["blocked_spend"])
    assert _kpi(page, "newly_blocked") == f"{report['newly_blocked']:,}"
    rate = report["blocked_installs"] / report["installs"] * 100
    assert _kpi(page, "fraud_rate") == f"{rate:,.2f}".rstrip("0").rstrip(".") + "%"
    for by, rows in (("site", report["by_site"]), ("campaign", report["by_campaign"])):
        page.click(f"[data-group={by}]")
        expect(page.locator(f"[data-group={by}]")).to_have_attribute("aria-pressed", "true")
        assert f"by={by}" in page.url
        table = page.locator("[data-source-row]")
        expect(table).not_to_have_count(0)
        assert 0 < table.count() <= len(rows)  # virtualised: the rows in view
        for row in rows[: min(table.count(), 10)]:
            key = row.get("site_id", row.get("campaign"))
            shown = page.locator(f"[data-source-row='{row['network']}/{key}']")
            assert shown.locator("[data-metric=blocked_installs]").inner_text() == (
                f"{row['blocked_installs']:,}"
            )
            assert shown.locator("[data-metric=blocked_spend]").inner_text() == _usd(
                row["blocked_spend"]
            )
    assert console.errors == []


def test_fraud_drill_down_shows_one_install_and_its_reasons(
    page: Page, demo: Demo, console: Console
) -> None:
    demo.get("/v1/reports/fraud", app_id=demo.app_id).raise_for_status()  # rescanned
    page.goto(f"{demo.url}/fraud")
    settle(page)
    rows = page.locator("[data-install]")
    expect(rows).not_to_have_count(0)
    install = rows.first.get_attribute("data-install")
    rows.first.press("Enter")
    expect(page.locator("[data-detail]")).to_contain_text(install)
    assert f"install={install}" in page.url
    # The reasons are the rescan's, as its audit entry records them.
    entries = demo.get("/v1/audit", app_id=demo.app_id, limit="1000").json()["entries"]
    reasons = next(
        e["details"]["installs"][install]
        for e in entries
        if e["action"] == "fraud.relabel" and install in e["details"]["installs"]
    )
    expect(page.locator("[data-reasons] li")).to_have_text(reasons)
    attribution = next(
        a
        for a in demo.get_lines("/v1/attributions", app_id=demo.app_id)
        if a["install_event_id"] == install
    )
    expect(page.locator("[data-detail]")).to_contain_text(attribution["network"])
    assert console.errors == []
