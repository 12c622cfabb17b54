"""Write a run to a directory: events (JSON lines or Parquet), costs, truth, S2S signatures."""

from __future__ import annotations

import contextlib
import io
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.json as pajson
import pyarrow.parquet as pq

from attribo.sim.engine import Progress, SimRun
from attribo.sim.model import SDK, SIGNATURES
from attribo.sim.params import SimParams

_DEVICE = pa.struct(
    [
        (name, pa.bool_() if name == "limit_ad_tracking" else pa.string())
        for name in (
            "platform",
            "idfa",
            "idfv",
            "gaid",
            "android_id",
            "ip",
            "user_agent",
            "os_version",
            "model",
            "locale",
            "limit_ad_tracking",
        )
    ]
)
_SOURCE = pa.struct(
    [
        (n, pa.string())
        for n in ("network", "campaign", "campaign_id", "adset", "ad", "site_id", "click_id")
    ]
)
EVENTS_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("type", pa.string()),
        ("app_id", pa.string()),
        ("timestamp", pa.int64()),
        ("device", _DEVICE),
        ("user_id", pa.string()),
        ("click_id", pa.string()),
        ("source", _SOURCE),
        ("name", pa.string()),
        ("revenue", pa.float64()),
        ("currency", pa.string()),
        ("properties", pa.struct([("level", pa.int64()), ("product_id", pa.string())])),
    ]
)
SIGNATURE_SCHEMA = pa.schema([("event_id", pa.string()), ("signature", pa.string())])


@dataclass
class SimSummary:
    """What `simulate` wrote and how long it took."""

    out_dir: Path
    app_ids: tuple[str, ...]
    installs: int
    events: int
    cost_rows: int
    seconds: float
    files: dict[str, Path] = field(default_factory=dict)


def _event_ids(lines: list[bytes]) -> list[str]:
    # The event id is the first field of every line: {"event_id":"...",
    return [line[13 : line.index(b'"', 13)].decode() for line in lines]


def write_run(run: SimRun, out_dir: Path, fmt: str = "jsonl") -> dict[str, Path]:
    """Write a generated run's files into `out_dir`; returns them by role."""
    if fmt not in ("jsonl", "parquet"):
        raise ValueError("format must be jsonl or parquet")
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "events": out_dir / f"events.{fmt}",
        "costs": out_dir / "costs.jsonl",
        "truth": out_dir / "truth.parquet",
        "signatures": out_dir / "signatures.parquet",
    }
    parse = pajson.ParseOptions(explicit_schema=EVENTS_SCHEMA, unexpected_field_behavior="error")
    with contextlib.ExitStack() as stack:
        signatures = stack.enter_context(pq.ParquetWriter(files["signatures"], SIGNATURE_SCHEMA))
        if fmt == "parquet":
            events_pq = stack.enter_context(pq.ParquetWriter(files["events"], EVENTS_SCHEMA))
        else:
            jsonl = stack.enter_context(open(files["events"], "wb"))
        for part in run.partitions():
            blob = b"\n".join(part.lines) + b"\n"
            if fmt == "parquet":
                table = pajson.read_json(io.BytesIO(blob), parse_options=parse)
                events_pq.write_table(table.select(EVENTS_SCHEMA.names).cast(EVENTS_SCHEMA))
            else:
                jsonl.write(blob)
            s2s = [i for i, c in enumerate(part.channel.tolist()) if c != SDK]
            if s2s:
                ids = _event_ids([part.lines[i] for i in s2s])
                kinds = [SIGNATURES[int(part.channel[i])] for i in s2s]
                signatures.write_table(
                    pa.table({"event_id": ids, "signature": kinds}, schema=SIGNATURE_SCHEMA)
                )
    with open(files["costs"], "wb") as costs:
        encoder = msgspec.json.Encoder()
        for row in run.cost_rows():
            costs.write(encoder.encode(row) + b"\n")
    shutil.copyfile(run.truth_path, files["truth"])
    return files


def simulate(
    params: SimParams, out_dir: Path, fmt: str = "jsonl", progress: Progress | None = None
) -> SimSummary:
    """Generate a run and write events, costs, truth and S2S signatures into `out_dir`."""
    began = time.perf_counter()
    with SimRun(params, progress) as run:
        files = write_run(run, Path(out_dir), fmt)
        return SimSummary(
            out_dir=Path(out_dir),
            app_ids=run.app_ids,
            installs=run.installs,
            events=run.events,
            cost_rows=len(run.cost_rows()),
            seconds=time.perf_counter() - began,
            files=files,
        )
