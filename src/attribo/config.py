"""Settings: one table feeds the TOML file, `ATTRIBO_*` environment variables and the docs.

Precedence: explicit overrides (CLI flags) > environment > TOML file > defaults.
A bad value fails loudly at start-up, naming the setting.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

Profile = Literal["embedded", "cluster"]
# Valid as a JetStream stream, a PostgreSQL schema, a ClickHouse database and a Redis key prefix.
_NAMESPACE = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class Settings:
    """Every setting, with its default; `help` metadata is the documentation."""

    profile: Profile = field(
        default="embedded", metadata={"help": "embedded (files, no services) or cluster"}
    )
    data_dir: Path = field(
        default=Path("attribo-data"), metadata={"help": "where the log, store and control DB live"}
    )
    host: str = field(default="127.0.0.1", metadata={"help": "address the server listens on"})
    port: int = field(default=8080, metadata={"help": "port the server listens on"})
    max_body_bytes: int = field(
        default=1 << 20, metadata={"help": "largest accepted request body (413 above)"}
    )
    max_future_s: int = field(
        default=86_400, metadata={"help": "how far ahead of the server clock a timestamp may be"}
    )
    dedup_window_hours: int = field(
        default=72,
        metadata={"help": "how long event ids are remembered in memory to answer `duplicates`"},
    )
    log_segment_bytes: int = field(
        default=64 << 20, metadata={"help": "size at which the event log starts a new segment"}
    )
    log_fsync: bool = field(
        default=True, metadata={"help": "fsync the log before acknowledging (durability)"}
    )
    pipeline_max_events: int = field(
        default=100_000, metadata={"help": "most events the pipeline writes to the store at once"}
    )
    pipeline_idle_ms: int = field(
        default=200, metadata={"help": "how long the pipeline sleeps when the log has no news"}
    )
    rate_limit_ingest_per_s: float = field(
        default=20_000.0, metadata={"help": "requests per second per ingest key (burst: 2x)"}
    )
    rate_limit_api_per_s: float = field(
        default=50.0, metadata={"help": "requests per second per admin or analyst key (burst: 2x)"}
    )
    rate_limit_unknown_per_s: float = field(
        default=1.0, metadata={"help": "requests per second per client IP with an unknown key"}
    )
    store_threads: int = field(
        default=0,
        metadata={"help": "threads the store may use; 0: all cores but one (kept for ingest)"},
    )
    namespace: str = field(
        default="attribo",
        metadata={"help": "cluster: prefix of every stream, schema, database and Redis key"},
    )
    nats_url: str = field(
        default="nats://127.0.0.1:4222", metadata={"help": "cluster: NATS JetStream server(s)"}
    )
    nats_replicas: int = field(
        default=1, metadata={"help": "cluster: replicas of the event stream (3 in production)"}
    )
    partitions: int = field(
        default=8,
        metadata={
            "help": "cluster: partitions of a new event stream; the most workers that share"
            " the attribution (an existing stream keeps its count)"
        },
    )
    partition_by: str = field(
        default="app",
        metadata={
            "help": "cluster: what routes events to partitions: 'app' (an app on one worker) or"
            " 'device' (an app over every worker; touches shared in Redis); set at deployment"
        },
    )
    worker_id: str = field(
        default="",
        metadata={
            "help": "cluster: this worker's lease holder name, unique among live workers and"
            " kept across restarts (empty: host name and data directory)"
        },
    )
    postgres_url: str = field(
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        metadata={"help": "cluster: control-plane database (schema = namespace)"},
    )
    redis_url: str = field(
        default="redis://127.0.0.1:6379/0",
        metadata={
            "help": "cluster: dedup keys, rate limits, leases, shared touchpoint index"
            " (redis+cluster://node:port for a Redis Cluster)"
        },
    )
    clickhouse_url: str = field(
        default="",
        metadata={"help": "cluster: http(s)://server or chdb:///path (empty: chDB in data_dir)"},
    )
    clickhouse_cluster: str = field(
        default="",
        metadata={
            "help": "cluster: a sharded ClickHouse cluster (remote_servers name): replicated"
            " tables per shard, Distributed tables by app (empty: one server)"
        },
    )
    fraud_live: bool = field(
        default=False,
        metadata={"help": "block fraud before crediting (a trained model needs the fraud extra)"},
    )
    fraud_rescan_minutes: float = field(
        default=10.0,
        metadata={"help": "with fraud_live: minutes between post-attribution fraud rescans"},
    )


def _coerce(name: str, kind: Any, raw: Any) -> Any:
    """Convert a TOML or environment value to the setting's type, or fail naming it."""
    try:
        if kind in (int, "int"):
            if isinstance(raw, bool):
                raise ValueError
            return int(raw)
        if kind in (float, "float"):
            if isinstance(raw, bool):
                raise ValueError
            value = float(raw)
            if not math.isfinite(value) or value <= 0:
                raise ValueError
            return value
        if kind in (bool, "bool"):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind in (Path, "Path"):
            return Path(raw)
        if name == "profile" and raw not in ("embedded", "cluster"):
            raise ValueError
        if name == "partition_by" and raw not in ("app", "device"):
            raise ValueError
        if name == "namespace" and not _NAMESPACE.fullmatch(str(raw)):
            raise ValueError
        return str(raw)
    except (TypeError, ValueError):
        raise ValueError(f"setting {name!r}: invalid value {raw!r}") from None


def load_settings(
    config_file: Path | None = None,
    env: dict[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build settings from defaults, a TOML file, `ATTRIBO_*` variables and overrides."""
    env = dict(os.environ) if env is None else env
    known = {f.name: f.type for f in fields(Settings)}
    values: dict[str, Any] = {}
    if config_file is not None:
        with open(config_file, "rb") as fh:
            data = tomllib.load(fh)
        for key, raw in data.items():
            if key not in known:
                raise ValueError(f"{config_file}: unknown setting {key!r}")
            values[key] = _coerce(key, known[key], raw)
    for key, kind in known.items():
        raw = env.get(f"ATTRIBO_{key.upper()}")
        if raw is not None:
            values[key] = _coerce(key, kind, raw)
    for key, raw in overrides.items():
        if raw is None:
            continue
        if key not in known:
            raise ValueError(f"unknown setting {key!r}")
        values[key] = _coerce(key, known[key], raw)
    return replace(Settings(), **values)


def settings_table() -> list[tuple[str, str, str]]:
    """(name, default, help) for each setting: what the docs list."""
    return [(f.name, repr(f.default), f.metadata.get("help", "")) for f in fields(Settings)]
