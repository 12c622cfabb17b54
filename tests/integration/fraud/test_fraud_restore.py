"""Live fraud statistics after a restart: rebuilt from a real DuckDB store and log tail."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from attribo.events.record import StoredEvent, encode_records
from attribo.fraud.context import FraudContext
from attribo.fraud.gate import FraudGate
from attribo.fraud.history import simulated_history
from attribo.fraud.restore import _as_judged, restore_fraud
from attribo.fraud.scoring import FraudScorer
from attribo.log.local import LocalLog
from attribo.sim import load_params
from attribo.store.duckdb import DuckDBStore
from attribo.store.schema import records_to_table

APP = "restart.app"


def _counters(context: FraudContext) -> tuple[object, ...]:
    return (
        context.events,
        context.installs,
        dict(context.by_ip),
        dict(context.by_subnet),
        dict(context.engaged_by_subnet),
        dict(context.by_model),
        {k: (s.installs, s.within_10s, s.within_1h, s.clicks) for k, s in context.sources.items()},
        sum(len(d) for d in context.devices_by_ip.values()),
    )


def _stored_and_tail(tmp_path: Path, records: list[StoredEvent]) -> tuple[DuckDBStore, LocalLog]:
    """Four fifths stored; the rest only in the log (accepted, not written to the store)."""
    store = DuckDBStore(tmp_path / "events.duckdb")
    cut = len(records) * 4 // 5
    for start in range(0, cut, 10_000):
        store.write_events(records_to_table(records[start : min(start + 10_000, cut)]), "w", 1)
    log = LocalLog(tmp_path / "log")

    async def append() -> None:
        for start in range(cut, len(records), 500):
            await log.append(encode_records(records[start : start + 500]))

    asyncio.run(append())
    return store, log


def test_a_restart_gets_back_the_counters_it_had(tmp_path: Path) -> None:
    params = load_params(installs=2000, days=5, seed=23, app_ids=(APP,), start=date(2026, 3, 1))
    live = FraudGate(FraudScorer())
    records = simulated_history(params, live).records
    assert any(r.attribution == "blocked" and r.type == "install" for r in records)
    store, log = _stored_and_tail(tmp_path, records)
    try:
        restarted = FraudGate(FraudScorer())
        assert restore_fraud(restarted, store, log, 0, [APP]) == len(records)
        assert _counters(restarted.context(APP)) == _counters(live.context(APP))
    finally:
        log.close()
        store.close()


def test_a_restart_resumes_after_the_last_fresh_start(tmp_path: Path) -> None:
    """Past the bound, only the records since the last fresh start are folded in again,
    so the next fresh start comes where it would have come."""
    params = load_params(installs=400, days=2, seed=5, app_ids=(APP,), start=date(2026, 3, 1))
    records = simulated_history(params, FraudGate(FraudScorer())).records
    bound = 700
    assert len(records) > 2 * bound and len(records) % bound
    in_order = FraudGate(FraudScorer())  # what the gate held, fed one record at a time
    in_order.max_context_events = bound
    for record in records:
        in_order.context(APP).add(_as_judged(record))
    store, log = _stored_and_tail(tmp_path, records)
    try:
        restarted = FraudGate(FraudScorer())
        restarted.max_context_events = bound
        assert restore_fraud(restarted, store, log, 0, [APP]) == len(records) % bound
        assert _counters(restarted.context(APP)) == _counters(in_order.context(APP))
        assert restarted.context(APP).events == len(records) % bound
    finally:
        log.close()
        store.close()
