"""The live fraud check in the collector, around live attribution.

Touches are screened before they are indexed: a click from a script, from a data-centre IP
or in a burst of one device's clicks on one source is stored with `attribution='blocked'`
and never becomes a candidate. Installs are judged right after live attribution decided
them (the rules and the model need the credited touch and its CTIT): a rejected install is
stored as `blocked` under the network that would have been credited. Both marks are stored,
so the SQL replay honours them and agrees with live attribution.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

from attribo.attribution.rules import device_key
from attribo.events.record import StoredEvent
from attribo.fraud.context import FraudContext, source_of
from attribo.fraud.devices import is_script_agent
from attribo.fraud.feed import ContextFeed
from attribo.fraud.scoring import FraudScorer
from attribo.fraud.verdict import Verdict

BLOCKED = "blocked"
KEEP_VERDICTS = 100_000  # recent verdicts kept for the API, oldest dropped first
# Live statistics start afresh after this many events of an app, which bounds memory; the
# post-attribution rescan, which reads the stored window, does not depend on them.
MAX_CONTEXT_EVENTS = 5_000_000


class FraudGate:
    """Per-app contexts, the scorer, and the recent verdicts with their reasons."""

    def __init__(self, scorer: FraudScorer) -> None:
        self.scorer = scorer
        self.contexts: dict[str, FraudContext] = {}
        self.verdicts: OrderedDict[tuple[str, str], Verdict] = OrderedDict()
        self.blocked_touches: OrderedDict[tuple[str, str], str] = OrderedDict()
        self.max_context_events = MAX_CONTEXT_EVENTS
        # Set when other workers see the same apps' other devices (see `attribo.fraud.feed`).
        self.feed: ContextFeed | None = None

    @classmethod
    def from_models(cls, models_dir: Path) -> FraudGate:
        """Rules, plus the newest trained model under `models_dir` if there is one."""
        from attribo.fraud.model import FraudModel, latest_model  # LightGBM: only if needed

        path = latest_model(models_dir) if models_dir.is_dir() else None
        model = FraudModel.load(path) if path is not None else None
        return cls(FraudScorer(model=model))

    def context(self, app_id: str) -> FraudContext:
        """The app's running statistics."""
        found = self.contexts.get(app_id)
        if found is None or found.events >= self.max_context_events:
            found = self.contexts[app_id] = FraudContext(
                burst_window_ms=int(self.scorer.settings.click_flooding.burst_window_s * 1000)
            )
        return found

    def begin_entry(self, partition: int, offset: int) -> None:
        """Before a log entry's records (device partitions): fold in the other workers'
        entries from before it."""
        assert self.feed is not None
        self.fold_before(offset)
        self.feed.begin(partition, offset)

    def fold_before(self, offset: int) -> None:
        """Fold in the other workers' entries from before stream offset `offset`."""
        assert self.feed is not None
        for row in self.feed.due(offset):
            self.context(row.app_id).add(row)

    def end_entry(self) -> None:
        """After the entry's records: they go to the feed."""
        assert self.feed is not None
        self.feed.end()

    def _add(self, record: StoredEvent) -> FraudContext:
        """Fold a record into its app's context (once, and tell the feed, if any)."""
        context = self.context(record.app_id)
        feed = self.feed
        if feed is None:
            context.add(record)
        elif feed.counting:
            context.add(record)
            feed.note(record)
        return context

    def forget(self, app_id: str) -> None:
        """Drop an app's running statistics (another worker screens it now)."""
        self.contexts.pop(app_id, None)

    def screen(self, records: Iterable[StoredEvent]) -> None:
        """Before attribution: count the touches, mark the ones no network may be paid for."""
        for record in records:
            if record.type not in ("click", "impression"):
                continue
            if record.attribution == BLOCKED:  # judged before (a restart re-reads it)
                self._add(record)
                continue
            context = self._add(record)
            reason = self._touch_reason(record, context)
            if reason is not None:
                record.attribution = BLOCKED
                self._remember(self.blocked_touches, (record.app_id, record.event_id), reason)

    def _touch_reason(self, record: StoredEvent, context: FraudContext) -> str | None:
        if record.user_agent and is_script_agent(record.user_agent):
            return "touch from a script or headless browser"
        if self.scorer.settings.anonymous_ip and self.scorer.ranges.contains(record.ip):
            return f"touch from data-centre IP {record.ip}"
        source, key = source_of(record), device_key(record)
        limit = self.scorer.settings.click_flooding.max_burst_clicks
        if source is not None and key is not None and record.type == "click":
            recent = context.recent_clicks.get((key, source))
            if recent is not None and len(recent) > limit:
                return f"click {len(recent)} of one device on {source[0]} within the burst window"
        return None

    def judge(self, record: StoredEvent) -> bool:
        """After live attribution stamped an install: True when it is rejected."""
        context = self._add(record)
        if record.attribution == BLOCKED:
            return True  # judged before (a restart re-reads it)
        verdict = self.scorer.score(record, context)
        self._remember(self.verdicts, (record.app_id, record.event_id), verdict)
        return verdict.verdict == "rejected"

    def after(self, records: Iterable[StoredEvent]) -> None:
        """After attribution: in-app events and opens count as engagement."""
        for record in records:
            if record.type in ("open", "event"):
                self._add(record)

    def verdict(self, app_id: str, install_event_id: str) -> Verdict | None:
        """The live verdict on an install, while it is remembered."""
        return self.verdicts.get((app_id, install_event_id))

    @staticmethod
    def _remember(table: OrderedDict, key: tuple[str, str], value: object) -> None:
        table[key] = value
        if len(table) > KEEP_VERDICTS:
            table.popitem(last=False)
