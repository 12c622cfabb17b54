"""Traffic simulator with ground truth: realistic wire-protocol v1 events, costs and truth.

Public API (see README.md beside this file for the parameters and their defaults):
`SimParams` / `load_params`, `simulate(params, out_dir)`, `SimRun` (generate once, then read
events, batches, costs and truth), `iter_event_batches(params)`, `send_events(...)`,
`run_sim_bench()`.
"""

from __future__ import annotations

from attribo.sim.engine import EventBatch, SimRun, iter_event_batches, plan_chunks
from attribo.sim.output import SimSummary, simulate
from attribo.sim.params import SimParams, load_params

__all__ = [
    "EventBatch",
    "SimParams",
    "SimRun",
    "SimSummary",
    "iter_event_batches",
    "load_params",
    "plan_chunks",
    "simulate",
]
