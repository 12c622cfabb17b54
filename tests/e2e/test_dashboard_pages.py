"""Every dashboard page in Chromium against a demo server: loads, draws, agrees with the API."""

from __future__ import annotations

import csv
import io
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from conftest import Console, Demo, record, settle

pytestmark = pytest.mark.e2e

CHART_PAGES = {
    "overview": ["installs-by-network", "spend-by-network", "roas-over-time"],
    "cohorts": ["cohort-heatmap"],
    "fraud": ["blocked-by-network", "ctit-histogram"],
    "live": ["live-rate"],
}
AGG = "/v1/reports/aggregate"
PAGES = ["overview", "campaigns", "cohorts", "fraud", "live", "settings"]

# Share of a chart's canvas pixels that are painted (not transparent): axes alone paint ~1 %.
PAINTED = """(label) => {
  const canvas = document.querySelector(`[data-chart="${label}"] canvas`);
  if (!canvas) return -1;
  const ctx = canvas.getContext('2d');
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
  return painted / (canvas.width * canvas.height);
}"""


def kpi(page: Page, metric: str) -> str:
    return page.locator(f"[data-kpi={metric}] [data-value]").inner_text()


def test_sign_in_with_a_key_and_out_again(browser, demo: Demo, console: Console) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.on("pageerror", lambda exc: console.errors.append(str(exc)))
    page.goto(demo.url + "/")
    page.fill("input[name=key]", "atb_not-a-key")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("unknown or revoked")
    page.fill("input[name=key]", demo.analyst_key)
    page.click("button[type=submit]")
    expect(page.locator("nav [data-nav=overview]")).to_have_attribute("aria-current", "page")
    assert page.evaluate("sessionStorage.getItem('attribo.key')") == demo.analyst_key
    page.click("[data-action=sign-out]")
    expect(page.locator("input[name=key]")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('attribo.key')") is None
    context.close()
    assert [e for e in console.errors if "401" not in e] == []


def _trickle(demo: Demo, stop: threading.Event) -> None:
    """A few installs, clicks and purchases a second, as SDKs would send them."""
    n = 0
    networks = ["meta", "google_ads", "tiktok", "applovin"]
    while not stop.is_set():
        now = int(time.time() * 1000)
        batch = []
        for _ in range(4):
            n += 1
            net = networks[n % len(networks)]
            device = {"platform": "android", "gaid": f"e2e-live-{n:06d}", "ip": "203.0.113.9"}
            source = {"network": net, "campaign": f"{net}_live"}
            batch.append(
                {
                    "event_id": f"live-c{n}",
                    "type": "click",
                    "app_id": demo.app_id,
                    "timestamp": now,
                    "device": device,
                    "source": source,
                }
            )
            batch.append(
                {
                    "event_id": f"live-i{n}",
                    "type": "install",
                    "app_id": demo.app_id,
                    "timestamp": now + 1,
                    "device": device,
                }
            )
            if n % 3 == 0:
                batch.append(
                    {
                        "event_id": f"live-p{n}",
                        "type": "event",
                        "name": "purchase",
                        "revenue": 4.99,
                        "currency": "USD",
                        "app_id": demo.app_id,
                        "timestamp": now + 2,
                        "device": device,
                    }
                )
        demo.send(batch)
        stop.wait(0.25)


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_without_errors_and_charts_draw(
    page: Page, demo: Demo, console: Console, name: str, shoot: Callable[[Page, str], Path]
) -> None:
    page.goto(f"{demo.url}/{name}")
    expect(page.locator("h1")).to_have_text(name.title())
    settle(page, streaming=name == "live")
    if name == "live":
        stop = threading.Event()
        sender = threading.Thread(target=_trickle, args=(demo, stop))
        sender.start()
        try:
            expect(page.locator("[data-live-event]")).not_to_have_count(0, timeout=15_000)
            page.wait_for_timeout(4000)
        finally:
            stop.set()
            sender.join()
        expect(page.locator("[data-kpi=install] [data-value]")).not_to_have_text("0")
    expect(page.locator("[data-state=error]")).to_have_count(0)
    for chart in CHART_PAGES.get(name, []):
        expect(page.locator(f"[data-chart={chart}] canvas")).to_have_count(1)
        page.wait_for_timeout(400)  # the chart's entry animation
        share = page.evaluate(PAINTED, chart)
        assert share > 0.02, f"{name}: chart {chart} painted {share:.2%} of its canvas"
    shoot(page, name)
    assert console.errors == []


def test_dark_theme_is_kept_and_drawn(
    page: Page, demo: Demo, console: Console, shoot: Callable[[Page, str], Path]
) -> None:
    page.goto(f"{demo.url}/overview")
    settle(page)
    page.click("[data-action=theme]")
    assert page.evaluate("document.documentElement.classList.contains('dark')")
    page.reload()
    settle(page)
    assert page.evaluate("document.documentElement.classList.contains('dark')")
    page.wait_for_timeout(400)
    assert page.evaluate(PAINTED, "installs-by-network") > 0.02
    shoot(page, "overview-dark")
    page.click("[data-action=theme]")
    assert console.errors == []


def test_period_filter_changes_kpis_to_what_the_api_returns(
    page: Page, demo: Demo, console: Console
) -> None:
    page.goto(f"{demo.url}/overview")
    settle(page)
    month = kpi(page, "installs")
    page.get_by_role("button", name="7d").click()
    settle(page)
    query = parse_qs(urlparse(page.url).query)
    period = {"from": query["from"][0], "to": query["to"][0]}
    api = demo.get(
        "/v1/reports/aggregate", app_id=demo.app_id, metrics="installs,cost,cpi", **period
    ).json()["totals"]
    assert kpi(page, "installs") == f"{api['installs']:,}"
    assert kpi(page, "installs") != month
    assert kpi(page, "cpi") == f"${api['cpi']:,.2f}"
    # The URL is the state: a fresh tab on it shows the same numbers.
    page.goto(page.url)
    settle(page)
    assert kpi(page, "installs") == f"{api['installs']:,}"
    assert console.errors == []


def test_campaign_filters_match_the_api_and_export_csv(
    page: Page, demo: Demo, console: Console
) -> None:
    page.goto(f"{demo.url}/campaigns?level=network")
    settle(page)
    page.fill("[data-filter=country]", "US")
    page.press("[data-filter=country]", "Enter")
    settle(page)
    expect(page).to_have_url(re.compile(r"country=US"))
    query = {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}
    frm = page.input_value("[data-filter=from]")
    to = page.input_value("[data-filter=to]")
    api = demo.get(
        "/v1/reports/aggregate",
        app_id=demo.app_id,
        metrics="installs,cost",
        dimensions="network",
        filter="country:US",
        **{"from": frm, "to": to},
    ).json()
    assert query["level"] == "network"
    assert page.locator("[data-total=installs]").inner_text() == f"{api['totals']['installs']:,}"
    assert int(page.locator("[data-row-count]").get_attribute("data-row-count")) == len(api["rows"])
    # Sort by spend, ascending then descending.
    page.click("[data-sort=cost]")
    first = page.locator("[data-row]").first.locator("td").first.inner_text()
    top = max(api["rows"], key=lambda r: r["cost"] or 0)["network"]
    assert first == top
    with page.expect_download() as download:
        page.click("[data-action=export]")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(rows) == len(api["rows"])
    assert sum(int(r["installs"]) for r in rows) == api["totals"]["installs"]
    assert console.errors == []


def test_compare_shows_change_against_the_previous_period(
    page: Page, demo: Demo, console: Console
) -> None:
    page.goto(f"{demo.url}/campaigns?level=network")
    settle(page)
    page.check("[data-filter=compare]")
    settle(page)
    assert "cmp=1" in page.url
    frm = date.fromisoformat(page.input_value("[data-filter=from]"))
    to = date.fromisoformat(page.input_value("[data-filter=to]"))
    days = (to - frm).days + 1
    before = {"from": str(frm - timedelta(days=days)), "to": str(frm - timedelta(days=1))}
    now = {"from": str(frm), "to": str(to)}
    args = {"app_id": demo.app_id, "metrics": "installs", "dimensions": "network"}
    current = {r["network"]: r["installs"] for r in demo.get(AGG, **args, **now).json()["rows"]}
    prior = {r["network"]: r["installs"] for r in demo.get(AGG, **args, **before).json()["rows"]}
    network = "google_ads"
    cell = page.locator("[data-row]", has_text=network).locator("[data-metric=installs]")
    shown = cell.locator("span").inner_text()
    expected = (current[network] - prior[network]) / prior[network] * 100
    value = float(shown.replace("\u2212", "-").replace("+", "").replace("\u00b1", "").rstrip("%"))
    assert abs(value - expected) < 0.01, (shown, expected)
    assert console.errors == []


def test_cohort_metric_switch_shows_the_api_values(
    page: Page, demo: Demo, console: Console
) -> None:
    page.goto(f"{demo.url}/cohorts")
    settle(page)
    page.select_option("[data-filter=metric]", "roas")
    page.select_option("[data-filter=granularity]", "week")
    settle(page)
    assert "metric=roas" in page.url and "granularity=week" in page.url
    page.get_by_text("Show as table").click()
    frm = page.input_value("[data-filter=from]")
    to = page.input_value("[data-filter=to]")
    rows = demo.get(
        "/v1/reports/cohort",
        app_id=demo.app_id,
        metric="roas",
        granularity="week",
        days="0,1,2,3,4,5,6,7,10,14,21,30",
        **{"from": frm, "to": to},
    ).json()["rows"]
    first = next(r for r in rows if r["day"] == 7 and r["value"] is not None)
    cell = page.locator(f"[data-cohort='{first['cohort']}'] [data-day='7']")
    shown = float(cell.inner_text().rstrip("%").replace(",", ""))
    assert abs(shown - first["value"] * 100) < 0.01, (cell.inner_text(), first)
    page.wait_for_timeout(400)
    assert page.evaluate(PAINTED, "cohort-heatmap") > 0.02
    assert console.errors == []


def _api_rows(demo: Demo, dimensions: str, frm: str, to: str) -> tuple[list[dict], dict]:
    """Every row of a breakdown, one network at a time (one answer holds 10,000 at most)."""
    args = {"app_id": demo.app_id, "from": frm, "to": to, "metrics": TABLE_METRICS}
    whole = demo.get(AGG, **args, dimensions=dimensions, limit="10000").json()
    networks = demo.get(AGG, **args, dimensions="network").json()["rows"]
    rows = []
    for net in networks:
        part = demo.get(
            AGG, **args, dimensions=dimensions, limit="10000", filter=f"network:{net['network']}"
        ).json()["rows"]
        assert len(part) < 10_000, net
        rows += part
    assert len(whole["rows"]) == 10_000  # the cap: this breakdown needs the split
    return rows, whole["totals"]


# The Campaigns table's metrics: which rows a breakdown has depends on them.
TABLE_METRICS = (
    "impressions,clicks,ctr,installs,conversion_rate,cost,cpi,revenue,roas,"
    "retention_d1,retention_d7,blocked_installs"
)

# Time from an action to two animation frames after the table shows its effect.
TIMED = """async (el, action) => {
  const rows = el.querySelector('[data-virtual-rows]');
  const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  if (action === 'scroll') {
    const times = [];
    for (let i = 1; i <= 40; i++) {
      const t0 = performance.now();
      rows.scrollTo(0, (rows.scrollHeight * i) / 40);
      await frames();
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b)[20];
  }
  rows.scrollTo(0, 0);
  await frames();
  const first = () => el.querySelector('[data-row]')?.textContent;
  const before = first();
  const t0 = performance.now();
  el.querySelector(action).click();
  while (first() === before && performance.now() - t0 < 5000) await frames();
  await frames();
  return performance.now() - t0;
}"""


def test_table_of_more_than_ten_thousand_rows_stays_smooth(
    page: Page, demo: Demo, console: Console
) -> None:
    # Up to yesterday: the live test's events of today would race the page and the API.
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    query = f"level=ad&split=country,install_date&from=2000-01-01&to={yesterday}"
    page.goto(f"{demo.url}/campaigns?{query}", wait_until="commit")
    page.locator("[data-row]").first.wait_for(timeout=60_000)
    loaded_ms = page.evaluate("performance.now()")  # since navigation: fetches and first render
    settle(page)
    frm, to = page.input_value("[data-filter=from]"), page.input_value("[data-filter=to]")
    api_rows, totals = _api_rows(demo, "network,campaign,adset,ad,country,install_date", frm, to)
    table = page.locator("[data-virtual-rows]")
    total = int(table.get_attribute("data-virtual-rows"))
    assert total == len(api_rows) > 10_000, (total, len(api_rows))
    assert page.locator("[role=status]", has_text="first 10,000").count() == 0
    assert page.locator("[data-total=installs]").inner_text() == f"{totals['installs']:,}"
    rendered = page.locator("[data-row]").count()
    assert 0 < rendered < 60, rendered
    card = page.locator("[data-row-count]").locator("xpath=ancestor::div[contains(@class,'card')]")
    scroll_ms = card.evaluate(TIMED, "scroll")
    assert page.locator("[data-row]").count() < 60
    assert page.locator("[data-row]").last.is_visible()
    sort_ms = card.evaluate(TIMED, "[data-sort=country]")  # text: the slower comparison
    first_country = min(r["country"] for r in api_rows if r["country"])
    assert page.locator("[data-row]").first.locator("td").nth(4).inner_text() == first_country
    numeric_sort_ms = card.evaluate(TIMED, "[data-sort=cost]")
    cost = max(r["cost"] or 0 for r in api_rows if r["network"] != "organic")
    shown = f"${cost:,.2f}" if cost < 100 else f"${cost:,.0f}"
    assert page.locator("[data-row]").first.locator("[data-metric=cost]").inner_text() == shown
    # Search: the table's own filter (typed, 150 ms debounce included).
    search_ms = page.locator("[data-filter=search]").evaluate(
        """async (input) => {
          const t0 = performance.now();
          input.value = 'tiktok';
          input.dispatchEvent(new Event('input', { bubbles: true }));
          const count = () => document.querySelector('[data-row-count]').dataset.rowCount;
          const before = count();
          while (count() === before && performance.now() - t0 < 5000)
            await new Promise((r) => requestAnimationFrame(r));
          await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
          return performance.now() - t0;
        }"""
    )
    matching = [
        r
        for r in api_rows
        if any(
            "tiktok" in str(r[d]).lower()
            for d in r
            if d in ("network", "campaign", "adset", "ad", "country", "install_date")
        )
    ]
    assert int(page.locator("[data-row-count]").get_attribute("data-row-count")) == len(matching)
    record("campaign_rows", total)
    record("campaign_load_ms", round(loaded_ms))
    record("campaign_scroll_jump_median_ms", round(scroll_ms, 1))
    record("campaign_sort_text_ms", round(sort_ms, 1))
    record("campaign_sort_number_ms", round(numeric_sort_ms, 1))
    record("campaign_search_ms", round(search_ms, 1))
    assert scroll_ms < 100, scroll_ms
    assert max(sort_ms, numeric_sort_ms) < 500, (sort_ms, numeric_sort_ms)
    assert search_ms < 600, search_ms
    assert console.errors == []


def test_api_errors_are_shown_not_swallowed(page: Page, demo: Demo, console: Console) -> None:
    page.goto(f"{demo.url}/campaigns?from=2026-02-30")
    alert = page.locator("[data-state=error]")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("from")
    assert [e for e in console.errors if "400" not in e] == []


def test_number_keys_open_pages(page: Page, demo: Demo, console: Console) -> None:
    page.goto(f"{demo.url}/overview")
    settle(page)
    page.keyboard.press("2")
    expect(page.locator("h1")).to_have_text("Campaigns")
    page.keyboard.press("6")
    expect(page.locator("h1")).to_have_text("Settings")
    page.go_back()
    expect(page.locator("h1")).to_have_text("Campaigns")
    assert console.errors == []
