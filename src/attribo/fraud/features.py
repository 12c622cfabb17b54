"""Per-install features for the ML layer, read from the install and the app's context.

Behavioural only: no network, campaign or site names, so that a model learns what fraud
looks like rather than who committed it in the training data.
"""

from __future__ import annotations

import math

from attribo.attribution.rules import device_key
from attribo.events.record import StoredEvent
from attribo.fraud.context import FraudContext, source_of, subnet_of
from attribo.fraud.datacentre import DataCentreRanges
from attribo.fraud.devices import impossible_device, is_mobile_agent
from attribo.fraud.settings import FraudSettings

FEATURES: tuple[str, ...] = (
    "attributed",
    "log_ctit_s",
    "match_strength",
    "android",
    "mobile_agent",
    "impossible_device",
    "datacentre_ip",
    "installs_on_ip",
    "installs_in_subnet",
    "subnet_idle_share",
    "model_share",
    "device_component_size",
    "ip_device_degree",
    "source_installs",
    "source_within_10s",
    "source_within_1h",
    "source_beyond_24h",
    "source_clicks_per_install",
    "source_burst_click_share",
    "source_ips_per_install",
    "device_burst_clicks",
)
_MATCH = {"fingerprint": 1.0, "device": 2.0, "click_id": 3.0}


def install_features(
    record: StoredEvent,
    context: FraudContext,
    settings: FraudSettings,
    ranges: DataCentreRanges,
) -> list[float]:
    """The feature vector of one install, in `FEATURES` order."""
    ctit = record.ctit_ms
    subnet = subnet_of(record.ip)
    key = device_key(record)
    row = [
        1.0 if record.attribution == "attributed" else 0.0,
        math.log10(max(ctit, 0) / 1000 + 1) if ctit is not None else -1.0,
        _MATCH.get(record.match_type or "", 0.0),
        1.0 if record.platform == "android" else 0.0,
        1.0 if is_mobile_agent(record.user_agent, settings.bot.mobile_os) else 0.0,
        1.0 if impossible_device(record.platform, record.device_model, record.os_version) else 0.0,
        1.0 if ranges.contains(record.ip) else 0.0,
        float(context.by_ip.get(record.ip or "", 0)),
        float(context.by_subnet.get(subnet, 0)) if subnet else 0.0,
        context.subnet_idle_share(subnet),
        context.by_model.get(record.device_model or "", 0) / max(context.installs, 1),
        float(context.component_size(key, record.ip)),
        float(context.ip_degree(record.ip)),
    ]
    source = source_of(record)
    least = settings.click_flooding.min_source_installs
    found = context.source_stats(source, least) if source is not None else None
    if found is None:
        row += [0.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 0.0]
        return row
    _, stats = found
    n = stats.installs
    row += [
        float(n),
        stats.within_10s / n,
        stats.within_1h / n,
        1 - stats.within_24h / n,
        stats.clicks / n,
        stats.burst_clicks / max(stats.clicks, 1),
        len(stats.install_ips) / n,
        float(context.device_burst.get((key, source), 0)) if key and source else 0.0,
    ]
    return row
