"""Running statistics of an app's traffic that rules and features read.

One `FraudContext` is fed every stored record in arrival order. Read while the stream
runs, it is the live view (the past only); read after a window has been fed, it is the
post-attribution view that finds source-level patterns the live view could not yet see.
Every update is O(1) amortised, so the live path stays within its latency budget.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field

from networkx.utils import UnionFind

from attribo.attribution.rules import device_key
from attribo.events.record import StoredEvent

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
Source = tuple[str, str]  # (network, site_id or ""); site "*" stands for the whole network


def subnet_of(ip: str | None) -> str | None:
    """The /24 of an IPv4 address (the /48 prefix text of an IPv6 one)."""
    if not ip:
        return None
    if ":" in ip:
        return ":".join(ip.split(":")[:3])
    head, _, _ = ip.rpartition(".")
    return head or None


def source_of(record: StoredEvent) -> Source | None:
    """The source an install is credited to, or a touch comes from: network and site."""
    if record.type in ("click", "impression"):
        return (record.network, record.site_id or "") if record.network else None
    if record.attribution == "attributed" and record.attributed_network:
        return (record.attributed_network, record.attributed_site_id or "")
    return None


@dataclass
class SourceStats:
    """Per source: attributed installs by CTIT band, clicks, repeated clicks, IPs."""

    installs: int = 0
    within_10s: int = 0
    within_1h: int = 0
    within_24h: int = 0
    clicks: int = 0
    burst_clicks: int = 0  # clicks from a device that clicked this source within the window
    install_ips: set[str] = field(default_factory=set)


@dataclass
class FraudContext:
    """Counters over one app's records; `add` them in arrival order."""

    burst_window_ms: int = HOUR_MS
    events: int = 0
    installs: int = 0
    by_ip: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_subnet: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    engaged_by_subnet: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_model: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sources: dict[Source, SourceStats] = field(default_factory=lambda: defaultdict(SourceStats))
    # Recent click times per (device, source): duplicate-click bursts.
    recent_clicks: dict[tuple[str, Source], deque[int]] = field(default_factory=dict)
    device_burst: dict[tuple[str, Source], int] = field(default_factory=lambda: defaultdict(int))
    engaged: dict[str, int] = field(default_factory=dict)  # install id -> events after it
    install_subnet: dict[str, str] = field(default_factory=dict)
    # Device - IP links: the devices seen on each IP, and the linked groups as disjoint
    # sets, so a group's size is read in near-constant time (a walk of the links would
    # visit every device behind a carrier NAT, for each install judged).
    devices_by_ip: dict[str, set[str]] = field(default_factory=dict)
    linked: UnionFind = field(default_factory=UnionFind)

    def add(self, record: StoredEvent) -> None:
        """Fold one stored record into the counters."""
        self.events += 1
        kind = record.type
        if kind == "click":
            self._click(record)
        elif kind == "install":
            self._install(record)
        elif record.install_event_id and record.install_event_id in self.engaged:
            self._engagement(record.install_event_id)

    def _click(self, record: StoredEvent) -> None:
        source = source_of(record)
        if source is None:
            return
        for level in (source, (source[0], "*")):
            self.sources[level].clicks += 1
        stats = self.sources[source]
        key = device_key(record)
        if key is None:
            return
        recent = self.recent_clicks.get((key, source))
        if recent is None:
            recent = self.recent_clicks[(key, source)] = deque()
        while recent and record.event_time - recent[0] > self.burst_window_ms:
            recent.popleft()
        if recent:
            stats.burst_clicks += 1
        recent.append(record.event_time)
        self.device_burst[(key, source)] = max(self.device_burst[(key, source)], len(recent))
        if record.ip:
            self._link(key, record.ip)

    def _install(self, record: StoredEvent) -> None:
        self.installs += 1
        ip, subnet = record.ip, subnet_of(record.ip)
        if ip:
            self.by_ip[ip] += 1
        if subnet:
            self.by_subnet[subnet] += 1
            self.install_subnet[record.event_id] = subnet
        if record.device_model:
            self.by_model[record.device_model] += 1
        self.engaged[record.event_id] = 0
        key = device_key(record)
        if key and ip:
            self._link(key, ip)
        source = source_of(record)
        if source is None or record.ctit_ms is None:
            return
        ctit_s = record.ctit_ms / 1000
        for level in (source, (source[0], "*")):
            stats = self.sources[level]
            stats.installs += 1
            stats.within_10s += ctit_s < 10
            stats.within_1h += ctit_s <= 3600
            stats.within_24h += ctit_s <= 86400
            if ip:
                stats.install_ips.add(ip)

    def source_stats(self, source: Source, min_installs: int) -> tuple[Source, SourceStats] | None:
        """The site's stats when it has enough installs, else its network's (or None)."""
        for level in (source, (source[0], "*")):
            stats = self.sources.get(level)
            if stats is not None and stats.installs >= min_installs:
                return level, stats
        return None

    def _link(self, key: str, ip: str) -> None:
        devices = self.devices_by_ip.get(ip)
        if devices is None:
            devices = self.devices_by_ip[ip] = set()
        if key not in devices:  # a new link: the groups of both ends become one
            devices.add(key)
            self.linked.union(("d", key), ("ip", ip))

    def _engagement(self, install_id: str) -> None:
        count = self.engaged[install_id]
        self.engaged[install_id] = count + 1
        if count == 0:
            subnet = self.install_subnet.get(install_id)
            if subnet:
                self.engaged_by_subnet[subnet] += 1

    def subnet_idle_share(self, subnet: str | None) -> float:
        """Share of the /24's installs that no event followed (yet)."""
        if not subnet or not self.by_subnet.get(subnet):
            return 0.0
        total = self.by_subnet[subnet]
        return (total - self.engaged_by_subnet.get(subnet, 0)) / total

    def component_size(self, key: str | None, ip: str | None) -> int:
        """Devices and IPs linked to this device or IP through shared devices and IPs."""
        node = ("d", key) if key else ("ip", ip) if ip else None
        if node is None or node not in self.linked.parents:  # never linked: on its own
            return 1
        return int(self.linked.weights[self.linked[node]])

    def ip_degree(self, ip: str | None) -> int:
        """Distinct devices seen on an IP."""
        devices = self.devices_by_ip.get(ip) if ip else None
        return len(devices) if devices else 0
