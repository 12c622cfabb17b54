"""Run a simulation: plan chunks, run scenarios on each, spill events, gather truth and costs.

Chunks are (day, part) slices of at most `chunk_installs` installs. Every chunk and scenario
draws from its own generator, `PCG64(SeedSequence(seed, spawn_key=(chunk, scenario)))`, so
the output depends only on the parameters (not on timing, dict order or the machine).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from numpy.random import PCG64, Generator, SeedSequence

from attribo.sim.costs import CostLedger
from attribo.sim.encode import TRUTH_SCHEMA, encode_chunk, truth_batch
from attribo.sim.model import DAY_MS, SIGNATURES, Chunk, World
from attribo.sim.params import SimParams
from attribo.sim.scenarios import build_scenarios
from attribo.sim.spill import Partition, Spill

Progress = Callable[[int, int], None]
MAX_BATCH_BYTES = 900_000  # under the collector's 1 MiB body limit


@dataclass(frozen=True)
class ChunkPlan:
    """One chunk: its index, day and number of installs."""

    index: int
    day: int
    installs: int


@dataclass(frozen=True)
class EventBatch:
    """Events of one app to send in one request, and how that request is signed."""

    app_id: str
    signature: str  # "none" (SDK), "good" (S2S, app secret), "bad" (spoofed, wrong secret)
    lines: list[bytes]

    def body(self) -> bytes:
        """The `POST /v1/events/batch` body."""
        return b'{"events":[' + b",".join(self.lines) + b"]}"


def generator(seed: int, *key: int) -> Generator:
    """An independent generator for one component, derived from the run's seed."""
    return Generator(PCG64(SeedSequence(seed, spawn_key=key)))


def plan_chunks(params: SimParams) -> list[ChunkPlan]:
    """Installs per day (weekends lifted), split into chunks of at most `chunk_installs`."""
    start = params.start_date()
    weights = np.array(
        [
            params.weekend_lift if (start + timedelta(days=d)).weekday() >= 5 else 1.0
            for d in range(params.days)
        ]
    )
    exact = params.installs * weights / weights.sum()
    per_day = np.floor(exact).astype(np.int64)
    short = params.installs - int(per_day.sum())
    per_day[np.argsort(-(exact - per_day), kind="stable")[:short]] += 1
    plans: list[ChunkPlan] = []
    for day, total in enumerate(per_day.tolist()):
        parts = max(1, -(-total // params.chunk_installs))
        for size in np.array_split(np.arange(total), parts):
            plans.append(ChunkPlan(len(plans), day, len(size)))
    return plans


class SimRun:
    """A generated simulation in a work directory: events, truth and costs, ready to read."""

    def __init__(self, params: SimParams, progress: Progress | None = None) -> None:
        self.params = params.validate()
        self.world = World.build(self.params)
        self.progress = progress
        self._dir: Path | None = None
        self._spill: Spill | None = None
        self._costs: list[dict[str, Any]] = []
        self.installs = 0

    def __enter__(self) -> SimRun:
        self._dir = Path(tempfile.mkdtemp(prefix="attribo-sim-"))
        try:
            self._generate(self._dir)
        except BaseException:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._spill is not None:
            self._spill.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    @property
    def app_ids(self) -> tuple[str, ...]:
        """The simulated apps."""
        return self.params.app_ids

    @property
    def events(self) -> int:
        """How many events the run generated."""
        return self._spill.events if self._spill else 0

    @property
    def truth_path(self) -> Path:
        """The ground-truth Parquet file inside the work directory."""
        assert self._dir is not None, "use SimRun as a context manager"
        return self._dir / "truth.parquet"

    def _generate(self, work: Path) -> None:
        params, world = self.params, self.world
        scenarios = build_scenarios(params.scenarios)
        shares = np.array([max(s.install_share(params), 0.0) for s in scenarios])
        remainder = [i for i, s in enumerate(scenarios) if s.install_share(params) < 0]
        if remainder:
            shares[remainder[0]] = max(0.0, 1.0 - shares.sum())
        shares = shares / shares.sum() if shares.sum() > 0 else shares
        (work / "spill").mkdir()
        self._spill = Spill(work / "spill", world.start_ms - 8 * DAY_MS)
        ledger = CostLedger(world)
        plans = plan_chunks(params)
        with pq.ParquetWriter(self.truth_path, TRUTH_SCHEMA) as truth_out:
            for done, plan in enumerate(plans):
                chunk = Chunk(world, plan.index, plan.day, plan.installs)
                counts = generator(params.seed, plan.index, 1 << 20).multinomial(
                    plan.installs, shares
                )
                for position, (scenario, count) in enumerate(zip(scenarios, counts, strict=True)):
                    scenario.generate(chunk, generator(params.seed, plan.index, position), count)
                self._spill.add(encode_chunk(chunk))
                truth_out.write_batch(truth_batch(chunk))
                ledger.add(chunk)
                self.installs += len(chunk.truth["install"])
                if self.progress:
                    self.progress(done + 1, len(plans))
        self._costs = ledger.rows()

    def partitions(self) -> Iterator[Partition]:
        """Events in global time order, one time partition at a time."""
        assert self._spill is not None, "use SimRun as a context manager"
        return self._spill.partitions()

    def cost_rows(self) -> list[dict[str, Any]]:
        """Daily cost rows in the `POST /v1/costs` shape."""
        return list(self._costs)

    def event_batches(self, batch_size: int = 500) -> Iterator[EventBatch]:
        """Time-ordered events grouped per app and signature into batches of `batch_size`."""
        buffers: dict[tuple[int, int], list[bytes]] = {}
        sizes: dict[tuple[int, int], int] = {}
        for part in self.partitions():
            for app, channel, line in zip(
                part.app.tolist(), part.channel.tolist(), part.lines, strict=True
            ):
                key = (app, channel)
                buffer = buffers.setdefault(key, [])
                if buffer and sizes[key] + len(line) + 1 > MAX_BATCH_BYTES:
                    yield self._batch(key, buffer)
                    buffer = buffers[key] = []
                    sizes[key] = 0
                buffer.append(line)
                sizes[key] = sizes.get(key, 0) + len(line) + 1
                if len(buffer) >= batch_size:
                    yield self._batch(key, buffer)
                    buffers[key] = []
                    sizes[key] = 0
        for key in sorted(buffers):
            if buffers[key]:
                yield self._batch(key, buffers[key])

    def _batch(self, key: tuple[int, int], lines: list[bytes]) -> EventBatch:
        return EventBatch(self.params.app_ids[key[0]], SIGNATURES[key[1]], lines)


def iter_event_batches(
    params: SimParams, batch_size: int = 500, progress: Progress | None = None
) -> Iterator[EventBatch]:
    """Generate the run, then yield its events time-ordered in per-app, per-signature batches."""
    with SimRun(params, progress) as run:
        yield from run.event_batches(batch_size)


def period(params: SimParams) -> tuple[datetime, datetime]:
    """The simulated period [start, end) as UTC datetimes."""
    start = datetime.fromtimestamp(params.start_ms() / 1000, UTC)
    return start, start + timedelta(days=params.days)
