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
    """The stored form of an event: normalised ids, parsed user agent, country."""
    device = event.device
    source = event.source
    facts = _NO_UA
    platform = idfa = idfv = gaid = android_id = ip = ua = None
    os_version = model = locale = lat = None
    if device is not None:
        ua = device.user_agent
        if ua:
            facts = parse_user_agent(ua)
        platform = device.platform or facts.platform
        idfa = advertising_id(device.idfa)
        gaid = advertising_id(device.gaid)
        idfv = device.idfv.lower() if device.idfv else None
        android_id = device.android_id.lower() if device.android_id else None
        ip = device.ip
        os_version = device.os_version or facts.os_version
        model = device.model or facts.model
        locale = device.locale
        lat = device.limit_ad_tracking
        if lat is None and (_zeroed(device.idfa) or _zeroed(device.gaid)):
            lat = True
    click_id = event.click_id or (source.click_id if source is not None else None)
    revenue = event.revenue
    currency = event.currency or ("USD" if revenue is not None else None)
    return StoredEvent(
        app_id=event.app_id,
        event_id=event.event_id,
        type=event.type,
        event_time=event_time_ms(event),
        received_at=received_at,
        platform=platform,
        idfa=idfa,
        idfv=idfv,
        gaid=gaid,
        android_id=android_id,
        ip=ip,
        user_agent=ua,
        os_name=facts.os_name,
        os_version=os_version,
        device_model=model,
        device_brand=facts.brand,
        locale=locale,
        limit_ad_tracking=lat,
        country=country_of(ip),
        user_id=event.user_id,
        click_id=click_id,
        network=source.network if source is not None else None,
        campaign=source.campaign if source is not None else None,
        campaign_id=source.campaign_id if source is not None else None,
        adset=source.adset if source is not None else None,
        ad=source.ad if source is not None else None,
        site_id=source.site_id if source is not None else None,
        name=event.name,
        revenue=revenue,
        currency=currency,
        properties=_json.encode(event.properties).decode() if event.properties else None,
        link_id=link_id,
        signed=signed,
    )
