"""The one place that picks backends for a profile (embedded now; cluster later)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from attribo.config import Settings
from attribo.control import ControlPlane
from attribo.log.base import Log
from attribo.store.base import Store

if TYPE_CHECKING:
    from attribo.store.costs import CostSink
    from attribo.store.skan import DuckDBPostbackSink


def open_control(settings: Settings) -> ControlPlane:
    """The control-plane database: SQLite in the data directory."""
    _embedded_only(settings)
    return ControlPlane.open(settings.data_dir / "control.db")


def open_log(settings: Settings) -> Log:
    """The event log: local segment files."""
    _embedded_only(settings)
    from attribo.log.local import LocalLog

    return LocalLog(settings.data_dir / "log", settings.log_segment_bytes, settings.log_fsync)


def open_store(settings: Settings) -> Store:
    """The analytics store: a DuckDB file."""
    _embedded_only(settings)
    from attribo.store.duckdb import DuckDBStore

    return DuckDBStore(settings.data_dir / "events.duckdb", settings.store_threads)


def _embedded_only(settings: Settings) -> None:
    if settings.profile != "embedded":
        raise ValueError(
            f"profile {settings.profile!r} is not available yet; use profile 'embedded'"
        )


def open_skan_sink(store: Store) -> DuckDBPostbackSink:
    """Where verified and unverified SKAdNetwork postbacks are kept: beside the events."""
    from attribo.store.duckdb import DuckDBStore
    from attribo.store.skan import DuckDBPostbackSink

    if not isinstance(store, DuckDBStore):
        raise ValueError("SKAdNetwork postbacks need the embedded store for now")
    return DuckDBPostbackSink(store.side_cursor())


def open_cost_sink(store: Store) -> CostSink:
    """Daily spend rows, kept beside the events so reports can join them."""
    from attribo.store.costs import CostSink
    from attribo.store.duckdb import DuckDBStore

    if not isinstance(store, DuckDBStore):
        raise ValueError("cost ingestion needs the embedded store for now")
    return CostSink(store.side_cursor())
