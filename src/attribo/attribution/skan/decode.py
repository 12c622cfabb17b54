"""Decode a postback through the app's conversion-value schema into what reports count."""

from __future__ import annotations

from datetime import datetime

import msgspec

from attribo.attribution.skan.networks import network_name
from attribo.attribution.skan.postback import Postback
from attribo.attribution.skan.schema import WINDOW_DAYS, ConversionSchema, Meaning
from attribo.attribution.skan.verify import verify_postback


class DecodedPostback(msgspec.Struct, frozen=True, kw_only=True):
    """A postback's meaning: install credit, revenue range, events, and who gets them."""

    version: str
    apple_app_id: int
    transaction_id: str
    sequence_index: int
    window_start_day: int
    window_end_day: int
    did_win: bool
    install: bool
    redownload: bool
    network_id: str
    network: str
    campaign: str | None
    source_app_id: int | None
    source_domain: str | None
    fidelity_type: int | None
    conversion_value: int | None
    coarse_conversion_value: str | None
    revenue_min: float | None
    revenue_max: float | None
    events: list[str]
    verified: bool


class PostbackRecord(DecodedPostback, frozen=True, kw_only=True):
    """A decoded postback as stored: which app it was posted for, when, and the body as sent."""

    app_id: str
    received_at: datetime
    raw: str


def decode(
    postback: Postback, schema: ConversionSchema, *, verified: bool | None = None
) -> DecodedPostback:
    """Decode `postback` with `schema`; verifies the signature unless `verified` is given."""
    if verified is None:
        verified = verify_postback(postback)
    sequence = postback.sequence_index
    meaning = Meaning()
    if postback.won and postback.conversion_value is not None:
        meaning = schema.fine_meaning(postback.conversion_value)
    elif postback.won and postback.coarse_conversion_value is not None:
        meaning = schema.coarse_meaning(postback.coarse_conversion_value, sequence)
    start, end = WINDOW_DAYS[sequence]
    return DecodedPostback(
        version=postback.version,
        apple_app_id=postback.app_id,
        transaction_id=postback.transaction_id,
        sequence_index=sequence,
        window_start_day=start,
        window_end_day=end,
        did_win=postback.won,
        # Only the winner's first postback credits an install; later windows and the
        # non-winning networks' postbacks must not count it again.
        install=postback.won and sequence == 0,
        redownload=bool(postback.redownload),
        network_id=postback.ad_network_id,
        network=network_name(postback.ad_network_id),
        campaign=postback.campaign,
        source_app_id=postback.source_app_id,
        source_domain=postback.source_domain,
        fidelity_type=postback.fidelity_type,
        conversion_value=postback.conversion_value,
        coarse_conversion_value=postback.coarse_conversion_value,
        revenue_min=meaning.revenue_min,
        revenue_max=meaning.revenue_max,
        events=list(meaning.events),
        verified=verified,
    )


def to_record(
    decoded: DecodedPostback, app_id: str, received_at: datetime, raw: bytes
) -> PostbackRecord:
    """The stored form of a decoded postback (`raw` is the body exactly as posted)."""
    fields = msgspec.structs.asdict(decoded)
    text = raw.decode("utf-8", errors="replace")
    return PostbackRecord(app_id=app_id, received_at=received_at, raw=text, **fields)
