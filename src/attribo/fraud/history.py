"""Attributed history to learn from and to evaluate on: simulated runs or the store.

A simulated run goes through the same steps as the collector (decode, normalise and enrich,
live attribution) without HTTP, so the model sees exactly the records the live path sees.
Batches the server would refuse (a wrong S2S signature) are dropped, as the collector does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from attribo.attribution.live import LiveAttributor
from attribo.collector.records import to_record
from attribo.events.record import StoredEvent
from attribo.events.types import Event
from attribo.sim.engine import SimRun
from attribo.sim.params import SimParams

if TYPE_CHECKING:
    from attribo.fraud.gate import FraudGate

_decode_event = msgspec.json.Decoder(Event)


@dataclass(frozen=True)
class History:
    """Attributed records in arrival order, with the simulator's truth when there is one."""

    records: list[StoredEvent]
    truth: pa.Table | None = None


def simulated_history(params: SimParams, gate: FraudGate | None = None) -> History:
    """Run the simulator and attribute its events as the collector would, in memory
    (with `gate`, also the collector's live fraud check around attribution)."""
    attributor = LiveAttributor()
    if gate is not None:
        attributor.judge = gate.judge
    records: list[StoredEvent] = []
    seq = 0
    with SimRun(params) as run:
        for batch in run.event_batches(500):
            if batch.signature == "bad":
                continue  # the collector answers 401 and stores none of it
            fresh = []
            for line in batch.lines:
                event = _decode_event.decode(line)
                seq += 1
                record = to_record(event, 0, signed=batch.signature == "good")
                record.received_at = record.event_time
                record.seq = seq
                fresh.append(record)
            if gate is not None:
                gate.screen(fresh)
            attributor.observe(fresh)
            if gate is not None:
                gate.after(fresh)
            records.extend(fresh)
        truth = pq.read_table(run.truth_path)
    return History(records, truth)


def save_truth(truth: pa.Table, path: Path) -> None:
    """Write a truth table as Parquet (for `attribo fraud train --truth`)."""
    pq.write_table(truth, path)
