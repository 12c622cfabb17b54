"""Daily cost rows agree with the simulated touches and installs."""

from __future__ import annotations

from collections import Counter

COST_FIELDS = {
    "date", "app_id", "network", "campaign", "adset", "ad", "country", "spend", "currency",
    "impressions", "clicks",
}  # fmt: skip


def _key(row: dict) -> tuple:
    return (row["app_id"], row["network"], row["campaign"], row["adset"], row["ad"])


def test_cost_rows_have_the_costs_shape(run):
    assert run.costs
    for row in run.costs:
        assert set(row) == COST_FIELDS
        assert row["currency"] == "USD" and row["spend"] >= 0
        assert row["impressions"] >= row["clicks"] >= 0


def test_reported_clicks_cover_the_emitted_clicks(run):
    from datetime import UTC, datetime

    emitted: Counter = Counter()
    for event in run.events:
        if event["type"] in ("click", "impression"):
            day = datetime.fromtimestamp(event["timestamp"] / 1000, UTC).date().isoformat()
            emitted[(day, event["type"], event["app_id"], event["source"]["ad"])] += 1
    reported: Counter = Counter()
    for row in run.costs:
        reported[(row["date"], "click", row["app_id"], row["ad"])] += row["clicks"]
        reported[(row["date"], "impression", row["app_id"], row["ad"])] += row["impressions"]
    for key, count in emitted.items():
        assert reported[key] >= count, key


def test_effective_cpi_is_near_the_network_price(run):
    spend: Counter = Counter()
    for row in run.costs:
        if row["country"] == "US":
            spend[row["network"]] += row["spend"]
    installs: Counter = Counter()
    for row in run.truth.to_pylist():
        network = row["causal_network"]
        if row["country"] == "US" and network and not row["is_fraud"]:
            installs[network] += 1
    for net in run.params.networks:
        if net.fraud or installs[net.name] < 200:
            continue
        cpi = spend[net.name] / installs[net.name]
        # Stolen installs are billed to the fraud source, so allow a band around the price.
        assert 0.8 * net.cpi_usd < cpi < 1.35 * net.cpi_usd, (net.name, cpi)
