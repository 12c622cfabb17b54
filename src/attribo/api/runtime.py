"""The running system of one server process: control plane, log, store, collector, pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from attribo.attribution.live import LiveAttributor
from attribo.attribution.restore import restore_live
from attribo.attribution.settings import settings_from_mapping
from attribo.backends import open_control, open_dedup, open_log, open_store
from attribo.collector.dedup import DedupIndex, rebuild_dedup
from attribo.collector.enrich import warm_up
from attribo.collector.ingest import Collector, now_ms
from attribo.config import Settings
from attribo.control import ControlPlane
from attribo.log.base import Log
from attribo.pipeline.store_writer import StoreWriter
from attribo.store.base import Store


@dataclass
class Runtime:
    """Everything a server process owns; opened before it listens, closed after."""

    settings: Settings
    control: ControlPlane
    log: Log
    store: Store
    collector: Collector
    store_writer: StoreWriter
    recovered_ids: int = 0

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
        apps = control.list_apps()
        attributor = LiveAttributor(
            {a.app_id: settings_from_mapping(a.settings.get("attribution", {})) for a in apps}
        )
        restore_live(attributor, store, log, writer.offset, [a.app_id for a in apps])
        warm_up()
        fraud = None
        if settings.fraud_live:  # rules; a trained model also needs the fraud extra
            from attribo.fraud.gate import FraudGate

            fraud = FraudGate.from_models(settings.data_dir / "fraud-models")
        collector = Collector(log, dedup, attributor, fraud)
        return cls(settings, control, log, store, collector, writer, recovered)

    def close(self) -> None:
        """Write what the log holds into the store, then close everything.

        Called once the server has stopped taking requests, so the drain sees every append.
        """
        self.store_writer.stop(drain=True)
        self.log.close()
        self.store.close()
        self.control.close()
