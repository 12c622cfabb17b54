"""The core model every scenario writes into: the world (apps, ads, countries, time) and a chunk.

A chunk is a few thousand installs of one day with all their touches and post-install events,
held as numpy columns. Scenarios append devices, events and installs (ground truth) to it;
overlay scenarios (fraud touches, noise) add events to installs that others created. Events
refer to devices and ads by row index and are turned into wire JSON only at the end (`encode`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np
from numpy.typing import NDArray

from attribo.sim.catalog import Ad, ad_tree
from attribo.sim.params import SimParams

DAY_MS = 86_400_000
HOUR_MS = 3_600_000

# Event type codes (index into TYPES) and in-app event names (index into NAMES).
CLICK, IMPRESSION, INSTALL, OPEN, EVENT = range(5)
TYPES = ("click", "impression", "install", "open", "event")
NO_NAME, PURCHASE, TUTORIAL, LEVEL_UP, SIGN_UP = range(5)
NAMES = ("", "purchase", "tutorial_complete", "level_up", "sign_up")
# How an event reaches the server: the SDK (unsigned), server-to-server signed with the app
# secret, or server-to-server with a wrong signature (spoofed traffic).
SDK, S2S_SIGNED, S2S_BAD_SIGNATURE = range(3)
SIGNATURES = ("none", "good", "bad")
# Match types (rule 2 of ARCHITECTURE.md section 6) and fraud kinds, as coded in the truth.
MATCHES = ("click_id", "device", "fingerprint")
FRAUD_KINDS = ("click_injection", "click_flooding", "device_farm", "bot", "sdk_spoofing")
INJECTION, FLOODING, FARM, BOT, SPOOFING = range(5)
ORGANIC_ACQ, CLICK_ACQ, VIEW_ACQ = range(3)

I64 = NDArray[np.int64]


@dataclass(frozen=True)
class World:
    """What stays fixed for a whole simulation: parameters, apps, the ad tree, the calendar."""

    params: SimParams
    start_ms: int
    end_ms: int
    ads: tuple[Ad, ...]
    ad_network: NDArray[np.int64]  # network index of each ad
    ad_retargeting: NDArray[np.bool_]
    network_ads: tuple[NDArray[np.int64], ...]  # acquisition (non-retargeting) ads per network
    retargeting_ads: NDArray[np.int64]
    fraud_network: int

    @classmethod
    def build(cls, params: SimParams) -> World:
        """Derive the fixed tables from the parameters."""
        ads = ad_tree(params.networks)
        names = [n.name for n in params.networks]
        ad_network = np.array([names.index(a.network) for a in ads], dtype=np.int64)
        ad_rt = np.array([a.retargeting for a in ads], dtype=np.bool_)
        per_net = tuple(
            np.flatnonzero((ad_network == i) & ~ad_rt).astype(np.int64) for i in range(len(names))
        )
        start = params.start_ms()
        return cls(
            params=params,
            start_ms=start,
            end_ms=start + params.days * DAY_MS,
            ads=ads,
            ad_network=ad_network,
            ad_retargeting=ad_rt,
            network_ads=per_net,
            retargeting_ads=np.flatnonzero(ad_rt).astype(np.int64),
            fraud_network=names.index(params.fraud.network),
        )

    @property
    def app_ids(self) -> tuple[str, ...]:
        """The simulated apps' ids."""
        return self.params.app_ids


_EVENT_COLUMNS: dict[str, tuple[Any, Any]] = {
    # name: (dtype, fill value when a scenario does not give it)
    "ts": (np.int64, 0),
    "kind": (np.int8, 0),
    "dev": (np.int64, 0),
    "ad": (np.int64, -1),  # touches: the ad; -1 otherwise
    "site": (np.int64, -1),  # touches: publisher/sub-site id number; -1 none
    "has_click_id": (np.bool_, False),  # touches: carries its own click id
    "ref": (np.int64, -1),  # installs: the touch whose click id came via the referrer
    "name": (np.int8, 0),
    "revenue": (np.float64, np.nan),
    "level": (np.int64, -1),  # level_up: the level reached
    "channel": (np.int8, SDK),
    "full_device": (np.bool_, True),  # False: the slimmer device a touch carries
    "uid": (np.bool_, False),  # carries the device's customer user id
}

TRUTH_COLUMNS: dict[str, tuple[Any, Any]] = {
    "install": (np.int64, -1),  # event row of the install
    "dev": (np.int64, -1),
    "acq": (np.int8, ORGANIC_ACQ),
    "causal": (np.int64, -1),  # event row of the causal touch; -1 organic
    "match": (np.int8, -1),  # index into MATCHES; -1 none a correct attributor could use
    "fraud_kind": (np.int8, -1),  # index into FRAUD_KINDS
    "fraud_touch": (np.int64, -1),  # event row of the fraudulent touch
    "reinstall": (np.bool_, False),
    "prev_install": (np.int64, -1),
    "re_touch": (np.int64, -1),  # re-engagement click
    "re_open": (np.int64, -1),  # the open it caused
    "ret1": (np.bool_, False),
    "ret7": (np.bool_, False),
    "ret30": (np.bool_, False),
    "payer": (np.bool_, False),
    "rev7": (np.float64, 0.0),
    "rev30": (np.float64, 0.0),
    "rev_observed": (np.float64, 0.0),
}


def _concat(parts: list[dict[str, np.ndarray]], spec: dict[str, tuple[Any, Any]]) -> dict:
    if not parts:
        return {k: np.empty(0, dtype=d) for k, (d, _) in spec.items()}
    return {k: np.concatenate([p[k] for p in parts]) for k in spec}


@dataclass
class Devices:
    """Devices of a chunk: numpy facts for the model plus their encoded wire JSON."""

    app: list[NDArray[np.int64]] = field(default_factory=list)
    platform: list[NDArray[np.int8]] = field(default_factory=list)  # 0 ios, 1 android
    country: list[NDArray[np.int64]] = field(default_factory=list)
    ad_id_ok: list[NDArray[np.bool_]] = field(default_factory=list)  # usable idfa/gaid
    same_touch_ip: list[NDArray[np.bool_]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # device key (truth)
    user_ids: list[str | None] = field(default_factory=list)
    full: list[msgspec.Raw] = field(default_factory=list)  # device object of SDK events
    touch: list[msgspec.Raw] = field(default_factory=list)  # device object of touches
    count: int = 0

    def column(self, name: str) -> np.ndarray:
        """One numpy fact for every device so far."""
        parts: list[np.ndarray] = getattr(self, name)
        if len(parts) > 1:
            joined = np.concatenate(parts)
            parts[:] = [joined]
        return parts[0] if parts else np.empty(0, dtype=np.int64)


class Chunk:
    """One slice of the simulation that scenarios fill; encoded and spilled as a unit."""

    def __init__(self, world: World, index: int, day: int, installs: int) -> None:
        self.world = world
        self.index = index
        self.day = day
        self.installs_planned = installs
        self.day_start_ms = world.start_ms + day * DAY_MS
        self.devices = Devices()
        self._events: list[dict[str, np.ndarray]] = []
        self._event_count = 0
        self._truth: list[dict[str, np.ndarray]] = []
        self._truth_cache: dict[str, np.ndarray] | None = None
        self._events_cache: dict[str, np.ndarray] | None = None

    def add_events(self, **columns: Any) -> I64:
        """Append events (columns of equal length; scalars broadcast); returns their rows."""
        n = len(columns["ts"])
        block = {}
        for name, (dtype, fill) in _EVENT_COLUMNS.items():
            value = columns.pop(name, fill)
            block[name] = np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()
        if columns:
            raise TypeError(f"unknown event columns {sorted(columns)}")
        self._events.append(block)
        self._events_cache = None
        rows = np.arange(self._event_count, self._event_count + n, dtype=np.int64)
        self._event_count += n
        return rows

    def add_installs(self, **columns: Any) -> I64:
        """Append ground-truth rows for new installs; returns their truth rows."""
        n = len(columns["install"])
        block = {}
        for name, (dtype, fill) in TRUTH_COLUMNS.items():
            value = columns.pop(name, fill)
            block[name] = np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()
        if columns:
            raise TypeError(f"unknown truth columns {sorted(columns)}")
        start = sum(len(p["install"]) for p in self._truth)
        self._truth.append(block)
        self._truth_cache = None
        return np.arange(start, start + n, dtype=np.int64)

    @property
    def events(self) -> dict[str, np.ndarray]:
        """All event columns so far (concatenated)."""
        if self._events_cache is None:
            self._events_cache = _concat(self._events, _EVENT_COLUMNS)
            self._events = [self._events_cache] if self._event_count else []
        return self._events_cache

    @property
    def truth(self) -> dict[str, np.ndarray]:
        """All truth columns so far (concatenated; scenarios may edit them in place)."""
        if self._truth_cache is None:
            self._truth_cache = _concat(self._truth, TRUTH_COLUMNS)
            self._truth = [self._truth_cache] if len(self._truth_cache["install"]) else []
        return self._truth_cache

    def event_id(self, row: int) -> str:
        """The wire `event_id` of an event row: unique over the run, fixed by the seed."""
        return f"s{self.world.params.seed}-{self.index:x}-{row:x}"
