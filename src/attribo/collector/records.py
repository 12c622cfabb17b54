"""Normalise a validated event and add what the server knows into a `StoredEvent`."""

from __future__ import annotations

import msgspec

from attribo.collector.enrich import UserAgentFacts, country_of, parse_user_agent
from attribo.events.record import StoredEvent
from attribo.events.types import Event
from attribo.events.validate import event_time_ms

_NO_UA = UserAgentFacts(None, None, None, None, None)
_json = msgspec.json.Encoder()


def advertising_id(value: str | None) -> str | None:
    """Lower-case an advertising id; an empty or all-zero id (ad tracking off) is none."""
    if not value:
        return None
    value = value.strip().lower()
    if not value.strip("0-"):
        return None
    return value


def _zeroed(value: str | None) -> bool:
    return bool(value) and not value.strip().strip("0-")  # type: ignore[union-attr]


def to_record(
    event: Event, received_at: int, *, signed: bool = False, link_id: str | None = None
) -> StoredEvent:
    """The stored form of an event: normalised ids, parsed user agent, country.

    On the hot path (every event); arguments are positional in `StoredEvent` field order,
    which msgspec takes four times faster than keywords.
    """
    device = event.device
    source = event.source
    if device is None:
        platform = idfa = idfv = gaid = android_id = ip = ua = None
        os_name = os_version = model = brand = locale = lat = country = None
    else:
        ua = device.user_agent
        facts = parse_user_agent(ua) if ua else _NO_UA
        platform = device.platform or facts.platform
        idfa = advertising_id(device.idfa) if device.idfa else None
        gaid = advertising_id(device.gaid) if device.gaid else None
        idfv = device.idfv.lower() if device.idfv else None
        android_id = device.android_id.lower() if device.android_id else None
        ip = device.ip
        os_name = facts.os_name
        os_version = device.os_version or facts.os_version
        model = device.model or facts.model
        brand = facts.brand
        locale = device.locale
        lat = device.limit_ad_tracking
        if lat is None and (_zeroed(device.idfa) or _zeroed(device.gaid)):
            lat = True
        country = country_of(ip) if ip else None
    if source is None:
        network = campaign = campaign_id = adset = ad = site_id = None
        click_id = event.click_id
    else:
        network, campaign, campaign_id = source.network, source.campaign, source.campaign_id
        adset, ad, site_id = source.adset, source.ad, source.site_id
        click_id = event.click_id or source.click_id
    revenue = event.revenue
    currency = event.currency or ("USD" if revenue is not None else None)
    timestamp = event.timestamp
    event_time = timestamp if type(timestamp) is int else event_time_ms(event)
    properties = _json.encode(event.properties).decode() if event.properties else None
    return StoredEvent(
        event.app_id,
        event.event_id,
        event.type,
        event_time,
        received_at,
        platform,
        idfa,
        idfv,
        gaid,
        android_id,
        ip,
        ua,
        os_name,
        os_version,
        model,
        brand,
        locale,
        lat,
        country,
        event.user_id,
        click_id,
        network,
        campaign,
        campaign_id,
        adset,
        ad,
        site_id,
        event.name,
        revenue,
        currency,
        properties,
        link_id,
        signed,
    )
