"""The live fraud check around live attribution, and the SQL replay agreeing with it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from attribo.attribution.replay import rebuild_summary
from attribo.attribution.settings import AttributionSettings
from attribo.fraud.gate import FraudGate
from attribo.fraud.history import simulated_history
from attribo.fraud.scoring import FraudScorer
from attribo.sim import load_params
from attribo.store.duckdb import DuckDBStore
from attribo.store.schema import records_to_table

APP = "gate.app"


def test_blocked_touches_are_never_credited_and_replay_agrees(tmp_path: Path) -> None:
    params = load_params(installs=3000, days=6, seed=19, app_ids=(APP,), start=date(2026, 3, 1))
    gate = FraudGate(FraudScorer())
    history = simulated_history(params, gate)
    records = history.records
    installs = [r for r in records if r.type == "install"]
    blocked_installs = [r for r in installs if r.attribution == "blocked"]
    blocked_touches = {
        r.event_id for r in records if r.type == "click" and r.attribution == "blocked"
    }
    assert blocked_installs, "the simulated bots, farms and spoofers must be blocked live"
    assert len(blocked_installs) < 0.2 * len(installs)
    # Every blocked install has its live verdict and reasons; a blocked touch wins nothing.
    for record in blocked_installs:
        verdict = gate.verdict(APP, record.event_id)
        assert verdict is not None and verdict.verdict == "rejected" and verdict.reasons
    credited = {r.touch_event_id for r in installs if r.attribution == "attributed"}
    assert blocked_touches, "the simulated bots click with script user agents"
    assert not credited & blocked_touches
    # In-app events inherit the blocked status of their install.
    blocked_ids = {r.event_id for r in blocked_installs}
    inheriting = [r for r in records if r.type == "event" and r.install_event_id in blocked_ids]
    assert all(r.attribution == "blocked" for r in inheriting)

    store = DuckDBStore(tmp_path / "events.duckdb")
    try:
        for start in range(0, len(records), 20_000):
            store.write_events(records_to_table(records[start : start + 20_000]), "test", start)
        _, summary = rebuild_summary(store, AttributionSettings(), APP)
    finally:
        store.close()
    assert summary["installs"] == len(installs)
    assert summary["changed_vs_live"] == 0
    assert summary["by_status"]["blocked"] == len(blocked_installs)


def test_live_statistics_start_afresh_past_their_bound() -> None:
    params = load_params(installs=300, days=2, seed=3, app_ids=(APP,), start=date(2026, 3, 1))
    gate = FraudGate(FraudScorer())
    gate.max_context_events = 1000
    history = simulated_history(params, gate)
    assert len(history.records) > 1500
    context = gate.context(APP)
    assert 0 < context.events < 1000  # bounded: the counters were renewed on the way
    assert context.installs < sum(r.type == "install" for r in history.records)
