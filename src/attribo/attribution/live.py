"""Live attribution in the collector: indexes touches as they arrive, decides each install.

Runs on the collector's event loop, in arrival order, so the answer to an SDK's install
request is final. Memory is bounded by the horizon (the longest window plus the allowed
lateness behind the newest event time); `replay` applies the same horizon.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from attribo.attribution.rules import (
    LATENESS_MS,
    Decision,
    Touch,
    advertising_id,
    device_key,
)
from attribo.attribution.settings import AttributionSettings
from attribo.events.record import StoredEvent

_BUCKET_MS = 3_600_000
_EXPIRE_KEYS_PER_TOUCH = 8  # > keys added per touch (3), so expiry keeps up
# Touches shared between workers are JSON text: Redis's Lua reads MessagePack strings but
# not binary, and the shared index's batched add goes through it.
_pack = msgspec.json.Encoder().encode
_unpack = msgspec.json.Decoder(Touch).decode
SharedRow = tuple[str, str, int, bytes]  # app id, match key, event time, packed touch


def device_partition_key(record: StoredEvent) -> str:
    """What a device-partitioned stream routes a record by: its app and device, so every
    event of a device is attributed by one worker (rules 5-7 need its installs); records
    without a device id spread by event id (only click ids and fingerprints reach them)."""
    return f"{record.app_id}\x1f{device_key(record) or '~' + record.event_id}"


def shared_touch_rows(records: Iterable[StoredEvent]) -> list[SharedRow]:
    """The touches of `records` as a shared index keeps them: one row per match key.

    The keys are those `LiveAttributor` indexes a touch under (blocked touches have none),
    so an install elsewhere finds in the shared index what one process would have found.
    """
    rows: list[SharedRow] = []
    for record in records:
        if record.type not in ("click", "impression") or record.attribution == "blocked":
            continue
        packed = _pack(Touch.of(record))
        for key in touch_match_keys(record):
            rows.append((record.app_id, key, record.event_time, packed))
    return rows


def shared_lookup_keys(records: Iterable[StoredEvent]) -> list[tuple[str, str]]:
    """The (app id, match key) pairs the installs and opens of `records` look up."""
    return [
        (record.app_id, key)
        for record in records
        if record.type in ("install", "open")
        for key in lookup_match_keys(record)
    ]


def touch_match_keys(record: StoredEvent) -> list[str]:
    """The keys the live index files a click or impression under."""
    keys = []
    if record.type == "click" and record.click_id:
        keys.append("c" + record.click_id)
    if record.idfa:
        keys.append("i" + record.idfa)
    if record.gaid:
        keys.append("g" + record.gaid)
    if record.type == "click" and record.ip and record.platform and record.os_version:
        keys.append(_fingerprint_key(record.ip, record.platform, record.os_version))
    return keys


def lookup_match_keys(record: StoredEvent) -> list[str]:
    """The keys `LiveAttributor._candidates` looks an install or open up under."""
    keys = []
    if record.click_id:
        keys.append("c" + record.click_id)
    ad_id = advertising_id(record)
    if ad_id:
        keys.append(("i" if record.platform == "ios" else "g") + ad_id)
    if record.ip and record.platform and record.os_version:
        keys.append(_fingerprint_key(record.ip, record.platform, record.os_version))
    return keys


def _fingerprint_key(ip: str, platform: str, os_version: str) -> str:
    return f"f{ip}\x1f{platform}\x1f{os_version}"


@dataclass(frozen=True, slots=True)
class InstallState:
    """What later events of a device inherit from its latest install."""

    event_id: str
    event_time: int
    status: str
    network: str | None
    campaign: str | None
    adset: str | None
    ad: str | None
    site_id: str | None
    match: str | None = None
    touch_event_id: str | None = None
    link_id: str | None = None
    decision: Decision | None = None  # to stamp a repeat of this install the same way
    watermark: int = 0


@dataclass(frozen=True, slots=True)
class Reengagement:
    """Rule 7: a retargeting click brought an existing user back; credited for a while."""

    started_at: int
    touch: Touch
    match: str


@dataclass
class _AppIndex:
    by_click_id: dict[str, list[Touch]] = field(default_factory=dict)
    by_ad_id: dict[str, list[Touch]] = field(default_factory=dict)
    by_fingerprint: dict[tuple[str, str, str], list[Touch]] = field(default_factory=dict)
    installs: dict[str, InstallState] = field(default_factory=dict)  # by device key
    by_install_id: dict[str, InstallState] = field(default_factory=dict)  # to answer repeats
    reengagements: dict[str, Reengagement] = field(default_factory=dict)  # by device key
    watermark: int = -(1 << 62)
    # Expiry: the index keys touched in each hour of event time, oldest hour first.
    buckets: dict[int, list[tuple[int, Any]]] = field(default_factory=dict)
    bucket_heap: list[int] = field(default_factory=list)


class LiveAttributor:
    """Rules v1 over an in-memory index of touches, per app."""

    def __init__(self, settings_for: dict[str, AttributionSettings] | None = None) -> None:
        self._settings_for = settings_for if settings_for is not None else {}
        self._default = AttributionSettings()
        self._apps: dict[str, _AppIndex] = {}
        # Fraud's verdict on an install, asked once it is stamped: True rejects it (rule 4).
        self.judge: Callable[[StoredEvent], bool] | None = None
        # Touches other workers indexed, fetched for the records being observed
        # (device-partitioned cluster): candidates beside this process's own.
        self._remote: dict[tuple[str, str], list[Touch]] = {}

    def set_settings(self, app_id: str, settings: AttributionSettings) -> None:
        """Use `settings` for the app's next decisions."""
        self._settings_for[app_id] = settings

    def settings(self, app_id: str) -> AttributionSettings:
        """The app's settings (defaults unless configured)."""
        return self._settings_for.get(app_id, self._default)

    def horizon_ms(self, app_id: str) -> int:
        """How long the app's touches can stay candidates: its longest window and the
        allowed lateness (the depth of `_floor`, and of a shared index's trim)."""
        return self.settings(app_id).max_lookback_ms + LATENESS_MS

    def app_ids(self) -> list[str]:
        """The apps with an index here."""
        return list(self._apps)

    def raise_watermark(self, app_id: str, event_time: int) -> None:
        """The app has seen an event this new (restoring: one not fed back in)."""
        index = self._apps.get(app_id)
        if index is None:
            index = self._apps[app_id] = _AppIndex()
        index.watermark = max(index.watermark, event_time)

    def forget(self, app_id: str) -> None:
        """Drop an app's index (another worker attributes it now); its settings stay."""
        self._apps.pop(app_id, None)

    def observe(
        self,
        records: Iterable[StoredEvent],
        shared: Mapping[tuple[str, str], list[bytes]] | None = None,
    ) -> list[Decision | None]:
        """Process records in arrival order: index touches, decide installs, stamp events.

        Returns, per record, the decision for installs and None for everything else; the
        records are updated in place with their attribution fields. `shared`: touches other
        workers indexed (packed, by app id and match key, as `shared_touch_rows` gives
        them), candidates beside this process's own; duplicates of local ones are harmless.
        """
        if shared:
            self._remote = {key: [_unpack(p) for p in packed] for key, packed in shared.items()}
            try:
                return self._observe(records)
            finally:
                self._remote = {}
        return self._observe(records)

    def _observe(self, records: Iterable[StoredEvent]) -> list[Decision | None]:
        out: list[Decision | None] = []
        added: dict[str, int] = {}
        for record in records:
            kind = record.type
            index = self._apps.get(record.app_id)
            if index is None:
                index = self._apps[record.app_id] = _AppIndex()
            if record.event_time > index.watermark:
                index.watermark = record.event_time
            if kind == "click" or kind == "impression":
                if record.attribution != "blocked":  # rejected as fraud: never a candidate
                    self._add_touch(index, record)
                added[record.app_id] = added.get(record.app_id, 0) + 1
                out.append(None)
            elif kind == "install":
                if record.watermark is not None and record.watermark > index.watermark:
                    index.watermark = record.watermark  # stored: the horizon it was decided in
                out.append(self._install(index, record))
            else:
                if kind != "open" or not self._reengage(index, record):
                    _inherit(index, record, self.settings(record.app_id))
                out.append(None)
        for app_id, count in added.items():  # expire in step with what was added
            self._expire(self._apps[app_id], app_id, _EXPIRE_KEYS_PER_TOUCH * count + 16)
        return out

    # -- touches ---------------------------------------------------------------------------
    def _add_touch(self, index: _AppIndex, record: StoredEvent) -> None:
        touch = Touch.of(record)
        bucket = record.event_time // _BUCKET_MS
        entries = index.buckets.get(bucket)
        if entries is None:
            entries = index.buckets[bucket] = []
            heapq.heappush(index.bucket_heap, bucket)
        if touch.is_click and record.click_id:
            index.by_click_id.setdefault(record.click_id, []).append(touch)
            entries.append((0, record.click_id))
        if record.idfa:
            key = "i" + record.idfa
            index.by_ad_id.setdefault(key, []).append(touch)
            entries.append((1, key))
        if record.gaid:
            key = "g" + record.gaid
            index.by_ad_id.setdefault(key, []).append(touch)
            entries.append((1, key))
        if touch.is_click and record.ip and record.platform and record.os_version:
            fingerprint = (record.ip, record.platform, record.os_version)
            index.by_fingerprint.setdefault(fingerprint, []).append(touch)
            entries.append((2, fingerprint))

    def _expire(self, index: _AppIndex, app_id: str, budget: int) -> None:
        """Drop touches no install can reach any more, a bounded amount per call.

        Eligibility is checked against the horizon anyway; this only frees memory, hour by
        hour of event time, so there is never a long pause in the event loop.
        """
        floor = _floor(index, self.settings(app_id))
        tables: tuple[dict[Any, list[Touch]], ...] = (
            index.by_click_id,
            index.by_ad_id,
            index.by_fingerprint,
        )
        while index.bucket_heap and (index.bucket_heap[0] + 1) * _BUCKET_MS <= floor:
            entries = index.buckets[index.bucket_heap[0]]
            while entries and budget > 0:
                table_id, key = entries.pop()
                budget -= 1
                table = tables[table_id]
                touches = table.get(key)
                if touches is not None:
                    kept = [t for t in touches if t.event_time >= floor]
                    if kept:
                        table[key] = kept
                    else:
                        del table[key]
            if entries:
                return  # out of budget: carry on at the next call
            del index.buckets[heapq.heappop(index.bucket_heap)]

    # -- installs --------------------------------------------------------------------------
    def _install(self, index: _AppIndex, record: StoredEvent) -> Decision:
        seen = index.by_install_id.get(record.event_id)
        if seen is not None and seen.decision is not None:
            # The same event again (a client's retry of a request whose append landed, the
            # log's tail after a restart): the decision taken, not a re-install of itself.
            _stamp(record, seen.decision, seen.watermark)
            if seen.status == "blocked":
                record.attribution = "blocked"
            return seen.decision
        settings = self.settings(record.app_id)
        floor = _floor(index, settings)
        key = device_key(record)
        previous = index.installs.get(key) if key else None
        after: int | None = None
        if previous is not None and record.event_time - previous.event_time <= (
            settings.reattribution_ms
        ):
            after = previous.event_time  # rule 5: only touches after the previous install
        decision = Decision("organic", None, None, previous is not None)
        blocked = record.attribution == "blocked"  # judged before: a restart re-reads it
        for match, candidates in self._candidates(index, record):
            best: Touch | None = None
            for touch in candidates:
                if not _eligible(touch, record, match, settings, floor, after):
                    continue
                if best is None or touch.rank() < best.rank():
                    best = touch
            if best is not None:
                decision = Decision("attributed", best, match, previous is not None)
                break
        _stamp(record, decision, index.watermark)
        if blocked or (self.judge is not None and self.judge(record)):
            record.attribution = "blocked"  # the would-be network stays, for the reports
        state = InstallState(
            record.event_id,
            record.event_time,
            record.attribution or decision.status,
            record.attributed_network,
            record.attributed_campaign,
            record.attributed_adset,
            record.attributed_ad,
            record.attributed_site_id,
            decision.match,
            record.touch_event_id,
            decision.touch.link_id if decision.touch is not None else None,
            decision,
            index.watermark,
        )
        index.by_install_id[record.event_id] = state
        if key:
            index.installs[key] = state
        return decision

    def _reengage(self, index: _AppIndex, record: StoredEvent) -> bool:
        """Rule 7: an open of an installed device soon after a retargeting click of it."""
        key = device_key(record)
        install = index.installs.get(key) if key else None
        if install is None or key is None:
            return False
        settings = self.settings(record.app_id)
        floor = _floor(index, settings)
        for match, candidates in self._candidates(index, record):
            if match == "fingerprint":
                break  # re-engagement needs the device itself
            best: Touch | None = None
            for touch in candidates:
                if not (touch.is_click and touch.retargeting and touch.seq < record.seq):
                    continue
                if touch.event_time <= install.event_time or touch.event_time < floor:
                    continue
                if not 0 <= record.event_time - touch.event_time <= settings.reengagement_click_ms:
                    continue
                if best is None or touch.rank() < best.rank():
                    best = touch
            if best is not None:
                state = Reengagement(record.event_time, best, match)
                index.reengagements[key] = state
                _credit(record, install.event_id, "reengagement", best)
                record.match_type = match  # this open starts it: say how it matched
                record.touch_event_id = best.event_id
                record.touch_type = "click"
                return True
        return False

    def reengagement(self, app_id: str, record: StoredEvent) -> Reengagement | None:
        """The re-engagement the record's device is in, if any."""
        index = self._apps.get(app_id)
        key = device_key(record)
        return None if index is None or key is None else index.reengagements.get(key)

    def latest_install(self, app_id: str, record: StoredEvent) -> InstallState | None:
        """The latest install of the record's device (what an open inherits)."""
        index = self._apps.get(app_id)
        key = device_key(record)
        if index is None or key is None:
            return None
        return index.installs.get(key)

    def install(self, app_id: str, install_event_id: str) -> InstallState | None:
        """The decision taken for one install (to answer a repeated request the same way)."""
        index = self._apps.get(app_id)
        return None if index is None else index.by_install_id.get(install_event_id)

    def _candidates(
        self, index: _AppIndex, record: StoredEvent
    ) -> Iterable[tuple[str, list[Touch]]]:
        if record.click_id:
            local = index.by_click_id.get(record.click_id)
            yield "click_id", self._joined(record, "c" + record.click_id, local)
        ad_id = advertising_id(record)
        if ad_id:
            key = ("i" if record.platform == "ios" else "g") + ad_id
            yield "device", self._joined(record, key, index.by_ad_id.get(key))
        if record.ip and record.platform and record.os_version:
            local = index.by_fingerprint.get((record.ip, record.platform, record.os_version))
            if self._remote:
                key = _fingerprint_key(record.ip, record.platform, record.os_version)
                yield "fingerprint", self._joined(record, key, local)
            else:
                yield "fingerprint", local or []

    def _joined(self, record: StoredEvent, key: str, local: list[Touch] | None) -> list[Touch]:
        """This process's candidates under `key`, and the shared index's, if any."""
        remote = self._remote.get((record.app_id, key)) if self._remote else None
        if remote is None:
            return local or []
        return [*local, *remote] if local else remote


def _eligible(
    touch: Touch,
    install: StoredEvent,
    match: str,
    settings: AttributionSettings,
    floor: int,
    after: int | None,
) -> bool:
    """Rules 1, 2 and 5 for one candidate touch."""
    if touch.seq >= install.seq or touch.event_time < floor:
        return False
    if after is not None and touch.event_time <= after:
        return False
    windows = settings.windows_for(touch.network)
    if match == "fingerprint":
        window = min(windows.click_ms, windows.fingerprint_ms)
    else:
        window = windows.click_ms if touch.is_click else windows.view_ms
    return 0 <= install.event_time - touch.event_time <= window


def _stamp(record: StoredEvent, decision: Decision, watermark: int) -> None:
    """Write an install's decision into its record."""
    record.attribution = decision.status
    record.watermark = watermark
    record.install_event_id = record.event_id
    record.reinstall = decision.reinstall
    touch = decision.touch
    if touch is not None:
        record.attributed_network = touch.network
        record.attributed_campaign = touch.campaign
        record.attributed_adset = touch.adset
        record.attributed_ad = touch.ad
        record.attributed_site_id = touch.site_id
        record.match_type = decision.match
        record.touch_event_id = touch.event_id
        record.touch_type = "click" if touch.is_click else "impression"
        record.ctit_ms = record.event_time - touch.event_time


def _inherit(index: _AppIndex, record: StoredEvent, settings: AttributionSettings) -> None:
    """Rule 6 (and 7): an event carries its device's latest install's attribution, or the
    re-engagement that brought the user back, while it lasts."""
    key = device_key(record)
    state = index.installs.get(key) if key else None
    if state is None or key is None:
        return
    again = index.reengagements.get(key)
    if again is not None and (
        0 <= record.event_time - again.started_at <= settings.reengagement_duration_ms
    ):
        _credit(record, state.event_id, "reengagement", again.touch)
        return
    _credit(record, state.event_id, state.status, state)


def _floor(index: _AppIndex, settings: AttributionSettings) -> int:
    """The horizon: touches older than this can no longer be a candidate for anything."""
    return index.watermark - settings.max_lookback_ms - LATENESS_MS


def _credit(
    record: StoredEvent, install_event_id: str, status: str, source: InstallState | Touch
) -> None:
    """Stamp an event with the install it belongs to and whom it is credited to."""
    record.install_event_id = install_event_id
    record.attribution = status
    record.attributed_network = source.network
    record.attributed_campaign = source.campaign
    record.attributed_adset = source.adset
    record.attributed_ad = source.ad
    record.attributed_site_id = source.site_id
