"""The running system of one server process: control plane, log, store, collector, pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from attribo.attribution.live import LiveAttributor, device_partition_key
from attribo.attribution.restore import restore_live
from attribo.attribution.settings import AttributionSettings, settings_from_mapping
from attribo.backends import (
    open_answer_cache,
    open_control,
    open_dedup,
    open_fraud_feed,
    open_log,
    open_partition_leases,
    open_shared_touches,
    open_store,
)
from attribo.collector.answers import RemoteAnswers
from attribo.collector.dedup import DedupIndex, rebuild_dedup
from attribo.collector.enrich import warm_up
from attribo.collector.ingest import Collector, now_ms
from attribo.config import Settings
from attribo.control import ControlPlane
from attribo.log.base import Log, PartitionedLog
from attribo.pipeline.attributing_worker import AttributingWorker, consumer_name
from attribo.pipeline.store_writer import StoreWriter
from attribo.store.base import Store

if TYPE_CHECKING:  # the fraud extra is optional
    from attribo.fraud.gate import FraudGate


class WorkerElsewhere:
    """The pipeline as seen from an API process when `attribo worker`s run it elsewhere."""

    errors = 0

    def __init__(self, log: PartitionedLog, store: Store) -> None:
        self._log = log
        self._store = store

    def start(self) -> None:
        """Nothing to run here."""

    def stop(self, drain: bool = True) -> None:
        """Nothing to drain here: the worker drains on its own SIGTERM."""

    def lag_bytes(self) -> int:
        """How far the store is behind the stream (messages), from the stored offsets."""
        lag = 0
        for partition, end in self._log.partition_ends().items():
            stored = self._store.consumer_offset(consumer_name(partition))
            lag += max(0, end - (stored or 0))
        return lag


@dataclass
class Runtime:
    """Everything a server process owns; opened before it listens, closed after."""

    settings: Settings
    control: ControlPlane
    log: Log
    store: Store
    collector: Collector
    store_writer: StoreWriter | AttributingWorker | WorkerElsewhere
    recovered_ids: int = 0
    answers: RemoteAnswers | None = None  # split cluster: installs are answered by the worker

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        """Open the backends and rebuild the dedup memory from what is on disk."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        control = open_control(settings)
        log = open_log(settings)
        store = open_store(settings)
        writer = StoreWriter(log, store, settings.pipeline_max_events, settings.pipeline_idle_ms)
        dedup = open_dedup(settings)
        recovered = 0  # shared (Redis) ids outlive the process; process memory is rebuilt
        if isinstance(dedup, DedupIndex):
            recovered = rebuild_dedup(dedup, store, log, writer.offset, now_ms())
        attributor, fraud, app_ids = _live_attribution(settings, control)
        restore_live(attributor, store, log, writer.offset, app_ids)
        if fraud is not None:
            from attribo.fraud.restore import restore_fraud

            restore_fraud(fraud, store, log, writer.offset, app_ids)
        warm_up()
        collector = Collector(log, dedup, attributor, fraud)
        return cls(settings, control, log, store, collector, writer, recovered)

    @classmethod
    def open_split(cls, settings: Settings, with_worker: bool = True) -> Runtime:
        """The cluster's API process, with the attributing worker unless `with_worker` is off.

        Its collector endpoints behave like an `attribo collector`'s: events are published
        unattributed and the worker, consuming the stream in order, answers installs.
        Without the worker (a separate `attribo worker` runs it), the store must be a
        ClickHouse server: chDB files belong to one process.
        """
        if settings.profile != "cluster":
            raise ValueError("the split processes need the cluster profile")
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        control = open_control(settings)
        log = open_log(settings)
        store = open_store(settings)
        pipeline: AttributingWorker | WorkerElsewhere
        if with_worker:
            worker = open_worker(settings, control, log, store)
            attributor, fraud, pipeline = worker.attributor, worker.fraud, worker
        else:
            attributor, fraud = LiveAttributor(), None
            pipeline = WorkerElsewhere(log, store)  # type: ignore[arg-type]
        warm_up()
        collector = Collector(log, open_dedup(settings), attributor, fraud, attributes=False)
        if settings.partition_by == "device":
            collector.partition_key = device_partition_key
        answers = RemoteAnswers(log, open_answer_cache(settings), settings.namespace)  # type: ignore[arg-type]
        return cls(settings, control, log, store, collector, pipeline, 0, answers)

    def close(self) -> None:
        """Write what the log holds into the store, then close everything.

        Called once the server has stopped taking requests, so the drain sees every append.
        """
        self.store_writer.stop(drain=True)
        self.log.close()
        self.store.close()
        self.control.close()


def open_worker(
    settings: Settings, control: ControlPlane, log: Log, store: Store
) -> AttributingWorker:
    """The cluster's attributing worker on the partitions it can lease; it rebuilds their
    live index from the store as it takes them."""
    attributor, fraud, _ = _live_attribution(settings, control)
    if fraud is not None:
        attributor.judge = fraud.judge
    cache = open_answer_cache(settings)
    partitions = open_partition_leases(settings, log.partitions)  # type: ignore[attr-defined]
    shared = open_shared_touches(settings, attributor.horizon_ms)
    return AttributingWorker(
        log,  # type: ignore[arg-type]
        store,
        attributor,
        fraud=fraud,
        deep_link_of=control.deep_link,
        send_answers=log.publish_answers,  # type: ignore[attr-defined]
        keep_answers=cache.put,
        partitions=partitions,
        shared=shared,
        fraud_feed=open_fraud_feed(settings) if shared is not None and fraud is not None else None,
        max_events=settings.pipeline_max_events,
        idle_ms=settings.pipeline_idle_ms,
    )


def refresh_attribution_settings(control: ControlPlane, attributor: LiveAttributor) -> None:
    """Take every app's attribution settings from the control plane (set by another process)."""
    for app_id, settings in _app_attribution_settings(control).items():
        attributor.set_settings(app_id, settings)


def _app_attribution_settings(control: ControlPlane) -> dict[str, AttributionSettings]:
    return {
        app.app_id: settings_from_mapping(app.settings.get("attribution", {}))
        for app in control.list_apps()
    }


def _live_attribution(
    settings: Settings, control: ControlPlane
) -> tuple[LiveAttributor, FraudGate | None, list[str]]:
    """An empty live index with every app's settings, the live fraud gate if enabled, and
    the app ids (whose stored events restore the index)."""
    by_app = _app_attribution_settings(control)
    fraud = None
    if settings.fraud_live:  # rules; a trained model also needs the fraud extra
        from attribo.fraud.gate import FraudGate

        fraud = FraudGate.from_models(settings.data_dir / "fraud-models")
    return LiveAttributor(dict(by_app)), fraud, list(by_app)
