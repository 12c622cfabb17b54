"""msgspec structs for wire protocol v1 (ARCHITECTURE.md section 5).

Unknown fields are rejected so that a misspelt field is an error the sender sees,
not data silently lost; `properties` is the one open object.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

EventType = Literal["click", "impression", "install", "open", "event"]
Platform = Literal["ios", "android", "web"]

Id64 = Annotated[str, Meta(min_length=1, max_length=64)]
Short = Annotated[str, Meta(max_length=64)]
Label = Annotated[str, Meta(max_length=256)]
# A timestamp is epoch milliseconds or an RFC 3339 string with an offset.
Timestamp = Annotated[int, Meta(ge=0)] | Annotated[datetime, Meta(tz=True)]


class Device(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """What the SDK or the tracking link knows of the device."""

    platform: Platform | None = None
    idfa: Short | None = None
    idfv: Short | None = None
    gaid: Short | None = None
    android_id: Short | None = None
    ip: Annotated[str, Meta(max_length=45)] | None = None
    user_agent: Annotated[str, Meta(max_length=1024)] | None = None
    os_version: Annotated[str, Meta(max_length=32)] | None = None
    model: Short | None = None
    locale: Annotated[str, Meta(max_length=35)] | None = None
    limit_ad_tracking: bool | None = None


class Source(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The ad that a click or impression came from."""

    network: Id64
    campaign: Label | None = None
    campaign_id: Label | None = None
    adset: Label | None = None
    ad: Label | None = None
    site_id: Label | None = None
    click_id: Label | None = None


class Event(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One event as sent by an SDK, a server or a tracking link."""

    event_id: Id64
    type: EventType
    app_id: Id64
    timestamp: Timestamp
    device: Device | None = None
    user_id: Label | None = None
    click_id: Label | None = None
    source: Source | None = None
    name: Label | None = None
    revenue: float | None = None
    currency: Annotated[str, Meta(pattern="^[A-Z]{3}$")] | None = None
    properties: dict[str, Any] | None = None


class Batch(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /v1/events/batch` body."""

    events: Annotated[list[Event], Meta(max_length=1000)]


class RawBatch(msgspec.Struct, forbid_unknown_fields=True):
    """The batch envelope with undecoded events, to report errors one event at a time."""

    events: Annotated[list[msgspec.Raw], Meta(max_length=1000)]
