"""Every generated event is valid wire protocol v1, time-ordered, uniquely identified."""

from __future__ import annotations

import iptocc
import numpy as np
import pyarrow.parquet as pq

from attribo.collector.enrich import parse_user_agent
from attribo.events.validate import DEFAULT_MAX_FUTURE_MS, decode_batch

KNOWN_FIELDS = {
    "event_id", "type", "app_id", "timestamp", "device", "user_id", "click_id", "source",
    "name", "revenue", "currency", "properties",
}  # fmt: skip


def test_every_event_passes_server_validation(run):
    now_ms = 1_900_000_000_000
    accepted = 0
    for i in range(0, len(run.lines), 1000):
        body = b'{"events":[' + b",".join(run.lines[i : i + 1000]) + b"]}"
        result = decode_batch(body, now_ms, DEFAULT_MAX_FUTURE_MS)
        assert not isinstance(result, Exception) and not hasattr(result, "field"), result
        good, errors = result
        assert errors == []
        accepted += len(good)
    assert accepted == len(run.events) == run.summary.events


def test_time_ordered_unique_ids_no_nulls(run):
    stamps = np.array([e["timestamp"] for e in run.events])
    assert np.all(np.diff(stamps) >= 0)
    ids = [e["event_id"] for e in run.events]
    assert len(set(ids)) == len(ids)
    assert max(len(i) for i in ids) <= 64
    for event in run.events[::50]:
        assert set(event) <= KNOWN_FIELDS
        assert None not in event.values()
        assert None not in (event.get("device") or {}).values()


def test_period_ends_before_now_and_starts_on_start(run):
    stamps = [e["timestamp"] for e in run.events]
    start = run.params.start_ms()
    end = start + run.params.days * 86_400_000
    installs = [e["timestamp"] for e in run.events if e["type"] == "install"]
    assert min(installs) >= start and max(stamps) < end
    assert min(stamps) >= start - 7 * 86_400_000  # touches precede by at most a week


def test_user_agents_parse_to_the_declared_platform(run):
    checked = 0
    for event in run.events[::20]:
        device = event.get("device") or {}
        agent = device.get("user_agent", "")
        if agent.startswith("Mozilla/5.0 (") and "Headless" not in agent:
            facts = parse_user_agent(agent)
            assert facts.platform == device["platform"], agent
            checked += 1
    assert checked > 1000


def test_install_ips_geolocate_to_the_truth_country(run):
    installs = {e["event_id"]: e for e in run.events if e["type"] == "install"}
    truth = run.truth.to_pylist()  # fraud too: farms sit in ID, bots in US data centres
    for row in truth:
        ip = installs[row["install_event_id"]]["device"]["ip"]
        assert iptocc.country_code(ip) == row["country"], (ip, row["country"])


def test_s2s_and_spoofed_events_are_listed(run):
    signatures = pq.read_table(run.summary.files["signatures"]).to_pylist()
    kinds = {row["signature"] for row in signatures}
    assert kinds == {"good", "bad"}
    by_id = {e["event_id"]: e for e in run.events}
    for row in signatures:
        event = by_id[row["event_id"]]
        if row["signature"] == "good":
            assert event["name"] == "purchase"
