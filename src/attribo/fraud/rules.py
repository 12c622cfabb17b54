"""Transparent fraud rules: each a small class with its settings and a reason in words.

A rule looks at one install (or in-app event) and the app's `FraudContext`, and returns a
`RuleHit` or None. Rules never learn; their thresholds are settings, so an ad network can
check every rejection against a number it was told.
"""

from __future__ import annotations

import json
from typing import ClassVar, Protocol

from attribo.attribution.rules import device_key
from attribo.events.record import StoredEvent
from attribo.fraud.context import FraudContext, source_of, subnet_of
from attribo.fraud.datacentre import DataCentreRanges, shipped_ranges
from attribo.fraud.devices import impossible_device, is_mobile_agent
from attribo.fraud.settings import (
    BotSettings,
    ClickFloodingSettings,
    ClickInjectionSettings,
    FraudSettings,
    InstallFarmSettings,
    SignatureSettings,
    TimestampSettings,
)
from attribo.fraud.verdict import RuleHit


class Rule(Protocol):
    """A named check of one record against the app's traffic so far."""

    name: ClassVar[str]
    kind: ClassVar[str]  # the fraud kind a hit points to

    def check(self, record: StoredEvent, context: FraudContext) -> RuleHit | None:
        """A hit with its reason, or None."""
        ...


def _install_begin_ms(record: StoredEvent) -> int | None:
    """The install-referrer's install-begin time, when the SDK passed it in properties."""
    if not record.properties or "install_begin" not in record.properties:
        return None
    try:
        value = json.loads(record.properties).get("install_begin_ms")
    except (ValueError, AttributeError):
        return None
    return int(value) if isinstance(value, int | float) else None


class ClickInjectionRule:
    """A click seconds before the first open, or after the download began, was injected."""

    name: ClassVar[str] = "click_injection"
    kind: ClassVar[str] = "click_injection"

    def __init__(self, settings: ClickInjectionSettings) -> None:
        self.settings = settings

    def check(self, record: StoredEvent, context: FraudContext) -> RuleHit | None:
        """CTIT under the minimum, or a click later than the referrer's install-begin time."""
        if record.ctit_ms is None or record.touch_type != "click":
            return None
        begin = _install_begin_ms(record)
        click_ms = record.event_time - record.ctit_ms
        if begin is not None and click_ms > begin:
            late = (click_ms - begin) / 1000
            return RuleHit(
                self.name, "rejected", f"click came {late:.0f} s after the download began"
            )
        ctit_s = record.ctit_ms / 1000
        if ctit_s < self.settings.min_ctit_s:
            return RuleHit(
                self.name,
                "rejected",
                f"click-to-install time {ctit_s:.1f} s is under {self.settings.min_ctit_s:.0f} s",
            )
        return None


class ClickFloodingRule:
    """A source whose installs come evenly over days, with floods of clicks, is guessing."""

    name: ClassVar[str] = "click_flooding"
    kind: ClassVar[str] = "click_flooding"

    def __init__(self, settings: ClickFloodingSettings) -> None:
        self.settings = settings

    def check(self, record: StoredEvent, context: FraudContext) -> RuleHit | None:
        """Flat CTIT against the priors, too many clicks per install, or click bursts."""
        source = source_of(record)
        if source is None or record.type != "install":
            return None
        s = self.settings
        found = context.source_stats(source, s.min_source_installs)
        if found is None:
            return None
        level, stats = found
        label = level[0] if level[1] == "*" else f"{level[0]}/{level[1]}"
        share_1h = stats.within_1h / stats.installs
        # Of the installs later than 1 h, the share later than 24 h: short-CTIT fraud mixed
        # into a source (injection, farms) does not dilute it. Genuine: (1-.94)/(1-.75) = 24 %.
        late = stats.installs - stats.within_1h
        tail = (stats.installs - stats.within_24h) / late if late else 0.0
        expected_tail = (1 - s.prior_within_24h) / (1 - s.prior_within_1h)
        if (late >= s.min_late_installs and tail > expected_tail * s.max_long_tail_ratio) or (
            share_1h < s.prior_within_1h * s.max_share_of_prior
        ):
            return RuleHit(
                self.name,
                "rejected",
                f"source {label}: {share_1h:.0%} of installs within 1 h of the click "
                f"(expected ~{s.prior_within_1h:.0%}); of those after 1 h, {tail:.0%} after "
                f"24 h (expected ~{expected_tail:.0%}): a flat, guessed time-to-install",
            )
        per_install = stats.clicks / stats.installs
        if per_install > s.max_clicks_per_install:
            return RuleHit(
                self.name,
                "suspicious",
                f"source {label}: {per_install:.0f} clicks per install "
                f"(limit {s.max_clicks_per_install:.0f})",
            )
        return None


class ClickBurstRule:
    """Many clicks of one device for one source within minutes is a click bot."""

    name: ClassVar[str] = "click_burst"
    kind: ClassVar[str] = "click_flooding"

    def __init__(self, settings: ClickFloodingSettings) -> None:
        self.settings = settings

    def check(self, record: StoredEvent, context: FraudContext) -> RuleHit | None:
        """Flag the install when its device clicked the crediting source in a burst."""
        source, key = source_of(record), device_key(record)
        if source is None or key is None or record.type != "install":
            return None
        burst = context.device_burst.get((key, source), 0)
        if burst > self.settings.max_burst_clicks:
            return RuleHit(
                self.name,
                "suspicious",
                f"device clicked {source[0]} {burst} times within "
                f"{self.settings.burst_window_s / 60:.0f} min",
            )
        return None


class InstallFarmRule:
    """Many installs from one IP or /24 that nobody then uses come from a device farm."""

    name: ClassVar[str] = "install_farm"
    kind: ClassVar[str] = "device_farm"

    def __init__(self, settings: InstallFarmSettings) -> None:
        self.settings = settings

    def check(self, record: StoredEvent, context: FraudContext) -> RuleHit | None:
        """Installs per /24 (idle) and per IP, and one model's share of the app."""
        if record.type != "install":
            return None
        s = self.settings
        subnet = subnet_of(record.ip)
        in_subnet = context.by_subnet.get(subnet, 0) if subnet else 0
        idle = context.subnet_idle_share(subnet)
        used = context.engaged.get(record.event_id, 0) > 0  # a real user in a farm's /24
        if in_subnet > s.max_installs_per_subnet and idle >= s.min_subnet_idle_share and not used:
            return RuleHit(
                self.name,
                "rejected",
                f"{in_subnet} installs from {subnet}.0/24, {idle:.0%} of them never used",
            )
        on_ip = context.by_ip.get(record.ip or "", 0)
        if on_ip > s.max_installs_per_ip:
            return RuleHit(self.name, "suspicious", f"{on_ip} installs from IP {record.ip}")
        model = record.device_model
        if model and context.installs >= s.min_installs_for_model_share:
            share = context.by_model.get(model, 0) / context.installs
            if share > s.max_model_share:
                return RuleHit(
                    self.name, "suspicious", f"{share:.0%} of the app's installs are on {model}"
                )
        return None


class BotRule:
    """Installs must come from a mobile user agent, not a script or headless browser."""

    name: ClassVar[str] = "bot"
    kind: ClassVar[str] = "bot"

    def __init__(self, settings: BotSettings) -> None:
        self.settings = settings

    def check(self, record: StoredEvent, context: FraudContext) -> RuleHit | None:
        """Reject installs whose user agent is not a mobile OS."""
        if record.type != "install" or record.user_agent is None:
            return None
        if is_mobile_agent(record.user_agent, self.settings.mobile_os):
            return None
        agent = (
            record.user_agent if len(record.user_agent) <= 60 else record.user_agent[:57] + "..."
        )
        return RuleHit(self.name, "rejected", f"non-mobile user agent {agent!r}")


class ImpossibleDeviceRule:
    """Model, platform and OS version must fit together (SDK spoofing forgets that)."""

    name: ClassVar[str] = "impossible_device"
    kind: ClassVar[str] = "sdk_spoofing"

    def check(self, record: StoredEvent, context: FraudContext) -> RuleHit | None:
        """Reject installs with device parameters no real phone reports."""
        if record.type != "install":
            return None
        why = impossible_device(record.platform, record.device_model, record.os_version)
        return RuleHit(self.name, "rejected", why) if why else None


class SignatureRule:
    """Revenue sent server-to-server must be signed with the app secret (if required)."""

    name: ClassVar[str] = "signature"
    kind: ClassVar[str] = "sdk_spoofing"

    def __init__(self, settings: SignatureSettings) -> None:
        self.settings = settings

    def check(self, record: StoredEvent, context: FraudContext) -> RuleHit | None:
        """Flag unsigned revenue events when the app requires signed revenue."""
        if not self.settings.require_signed_revenue or record.type != "event":
            return None
        if record.revenue is None or record.signed:
            return None
        return RuleHit(self.name, "suspicious", "revenue event without a valid HMAC signature")


class TimestampRule:
    """Event times from the future (beyond clock skew) are forged or replayed."""

    name: ClassVar[str] = "timestamps"
    kind: ClassVar[str] = "sdk_spoofing"

    def __init__(self, settings: TimestampSettings) -> None:
        self.settings = settings

    def check(self, record: StoredEvent, context: FraudContext) -> RuleHit | None:
        """Flag events stamped after they arrived, and installs before their touch."""
        ahead_s = (record.event_time - record.received_at) / 1000
        if record.received_at and ahead_s > self.settings.max_future_s:
            return RuleHit(self.name, "suspicious", f"event time {ahead_s:.0f} s in the future")
        if record.ctit_ms is not None and record.ctit_ms < 0:
            return RuleHit(self.name, "suspicious", "install before the touch it is credited to")
        return None


class AnonymousIpRule:
    """Phones do not install apps from cloud data centres."""

    name: ClassVar[str] = "anonymous_ip"
    kind: ClassVar[str] = "bot"

    def __init__(self, ranges: DataCentreRanges | None = None) -> None:
        self.ranges = ranges if ranges is not None else shipped_ranges()

    def check(self, record: StoredEvent, context: FraudContext) -> RuleHit | None:
        """Reject installs from a published data-centre range."""
        if record.type != "install" or not self.ranges.contains(record.ip):
            return None
        return RuleHit(self.name, "rejected", f"IP {record.ip} is in a data-centre range")


def default_rules(settings: FraudSettings, ranges: DataCentreRanges | None = None) -> list[Rule]:
    """Every rule, configured from the app's settings."""
    rules: list[Rule] = [
        ClickInjectionRule(settings.click_injection),
        ClickFloodingRule(settings.click_flooding),
        ClickBurstRule(settings.click_flooding),
        InstallFarmRule(settings.install_farm),
        BotRule(settings.bot),
        ImpossibleDeviceRule(),
        SignatureRule(settings.signature),
        TimestampRule(settings.timestamps),
    ]
    if settings.anonymous_ip:
        rules.append(AnonymousIpRule(ranges))
    return rules
