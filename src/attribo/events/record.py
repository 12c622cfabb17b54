"""The normalised, enriched event as the log carries it and the store keeps it.

In the log a batch is newline-delimited JSON with empty fields left out: msgspec writes
it in well under a microsecond an event, and the pipeline parses it into Arrow columns
with Arrow's C++ reader, outside the GIL, instead of building Python objects.
"""

from __future__ import annotations

import msgspec


class StoredEvent(msgspec.Struct, omit_defaults=True):
    """One accepted event after validation, normalisation and enrichment.

    Mutable so that the collector can stamp the arrival sequence and the live attribution
    on the record it already built, without a copy per event.
    """

    app_id: str
    event_id: str
    type: str
    event_time: int  # epoch ms, as the client sent it
    received_at: int  # epoch ms, when the collector accepted it
    platform: str | None = None
    idfa: str | None = None
    idfv: str | None = None
    gaid: str | None = None
    android_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    os_name: str | None = None
    os_version: str | None = None
    device_model: str | None = None
    device_brand: str | None = None
    locale: str | None = None
    limit_ad_tracking: bool | None = None
    country: str | None = None
    user_id: str | None = None
    click_id: str | None = None
    network: str | None = None
    campaign: str | None = None
    campaign_id: str | None = None
    adset: str | None = None
    ad: str | None = None
    site_id: str | None = None
    name: str | None = None
    revenue: float | None = None
    currency: str | None = None
    properties: str | None = None  # JSON text
    link_id: str | None = None
    signed: bool = False
    # Arrival order: microseconds since the epoch, strictly increasing in one collector.
    # Attribution candidates are the touches that arrived before the install (live and replay).
    seq: int = 0
    retargeting: bool = False  # a click through a link marked for retargeting
    # Attribution (installs and opens: decided here; in-app events: inherited from the install).
    attribution: str | None = None  # attributed | organic | reengagement | blocked
    attributed_network: str | None = None
    attributed_campaign: str | None = None
    attributed_adset: str | None = None
    attributed_ad: str | None = None
    attributed_site_id: str | None = None
    match_type: str | None = None  # click_id | device | fingerprint
    touch_event_id: str | None = None
    touch_type: str | None = None  # click | impression
    ctit_ms: int | None = None  # install time minus touch time
    install_event_id: str | None = None  # the install whose attribution an event inherits
    reinstall: bool = False
    # Installs: the newest event time the app had seen when this one was decided (ms); the
    # replay's horizon is taken from it, as the live index's was.
    watermark: int | None = None


STORED_FIELDS: tuple[str, ...] = StoredEvent.__struct_fields__

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(StoredEvent)


def encode_records(records: list[StoredEvent]) -> bytes:
    """Serialise a batch of records for the event log (JSON lines)."""
    return _encoder.encode_lines(records)


def decode_records(payload: bytes) -> list[StoredEvent]:
    """Decode a log payload to typed records."""
    return _decoder.decode_lines(payload)
