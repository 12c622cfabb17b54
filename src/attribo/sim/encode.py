"""Turn a filled chunk into wire-protocol v1 JSON lines and ground-truth Arrow rows.

msgspec structs fix the key order (the protocol's field order) and omit absent fields; each
device's JSON was encoded once when it was made and is spliced in as `msgspec.Raw`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa

from attribo.sim.model import (
    CLICK,
    FRAUD_KINDS,
    IMPRESSION,
    INSTALL,
    LEVEL_UP,
    MATCHES,
    NAMES,
    OPEN,
    PURCHASE,
    TYPES,
    Chunk,
)


class WireSource(msgspec.Struct, omit_defaults=True):
    """`source` of a click or impression."""

    network: str
    campaign: str | None = None
    campaign_id: str | None = None
    adset: str | None = None
    ad: str | None = None
    site_id: str | None = None
    click_id: str | None = None


class WireEvent(msgspec.Struct, omit_defaults=True):
    """One wire event, fields in protocol order."""

    event_id: str
    type: str
    app_id: str
    timestamp: int
    device: msgspec.Raw | None = None
    user_id: str | None = None
    click_id: str | None = None
    source: WireSource | None = None
    name: str | None = None
    revenue: float | None = None
    currency: str | None = None
    properties: dict[str, Any] | None = None


@dataclass
class EncodedChunk:
    """A chunk's events as JSON lines (chunk order) with what ordering and sending need."""

    ts: np.ndarray  # int64 epoch ms
    seq: np.ndarray  # int64 tie-breaker: (chunk << 32) | row
    app: np.ndarray  # int16 index into app_ids
    channel: np.ndarray  # int8 SDK / S2S_SIGNED / S2S_BAD_SIGNATURE
    lines: list[bytes]


def click_id_of(event_id: str) -> str:
    """The click id a touch carries, derived from its event id."""
    return "ck-" + event_id


def encode_chunk(chunk: Chunk) -> EncodedChunk:
    """JSON lines for every event of the chunk, in row order."""
    world = chunk.world
    events = chunk.events
    devices = chunk.devices
    app_ids = world.params.app_ids
    dev_app = devices.column("app")
    sources = [(a.network, a.campaign, a.campaign_id, a.adset, a.ad) for a in world.ads]
    prefix = f"s{world.params.seed}-{chunk.index:x}-"
    encode = msgspec.json.Encoder().encode
    full, touch, user_ids = devices.full, devices.touch, devices.user_ids
    n = len(events["ts"])
    lines: list[bytes] = []
    append = lines.append
    columns = zip(
        events["ts"].tolist(),
        events["kind"].tolist(),
        events["dev"].tolist(),
        events["ad"].tolist(),
        events["site"].tolist(),
        events["has_click_id"].tolist(),
        events["ref"].tolist(),
        events["name"].tolist(),
        events["revenue"].tolist(),
        events["level"].tolist(),
        events["uid"].tolist(),
        strict=True,
    )
    for row, (ts, kind, dev, ad, site, has_cid, ref, name, revenue, level, uid) in enumerate(
        columns
    ):
        event_id = f"{prefix}{row:x}"
        app_id = app_ids[dev_app[dev]]
        if kind in (CLICK, IMPRESSION):
            network, campaign, campaign_id, adset, ad_name = sources[ad]
            source = WireSource(
                network,
                campaign,
                campaign_id,
                adset,
                ad_name,
                f"site_{site}" if site >= 0 else None,
                click_id_of(event_id) if has_cid else None,
            )
            event = WireEvent(event_id, TYPES[kind], app_id, ts, touch[dev], source=source)
        elif kind == INSTALL:
            click_id = click_id_of(f"{prefix}{ref:x}") if ref >= 0 else None
            event = WireEvent(event_id, "install", app_id, ts, full[dev], click_id=click_id)
        elif kind == OPEN:
            event = WireEvent(
                event_id, "open", app_id, ts, full[dev], user_ids[dev] if uid else None
            )
        else:
            props: dict[str, Any] | None = None
            cash = None
            if name == PURCHASE:
                cash = "USD"
                props = {"product_id": f"gems_{round(revenue * 100)}"}
            elif name == LEVEL_UP:
                props = {"level": level}
            event = WireEvent(
                event_id,
                "event",
                app_id,
                ts,
                full[dev],
                user_ids[dev] if uid else None,
                name=NAMES[name],
                revenue=revenue if cash else None,
                currency=cash,
                properties=props,
            )
        append(encode(event))
    return EncodedChunk(
        ts=events["ts"].copy(),
        seq=(np.int64(chunk.index) << np.int64(32)) | np.arange(n, dtype=np.int64),
        app=dev_app[events["dev"]].astype(np.int16),
        channel=events["channel"].copy(),
        lines=lines,
    )


TRUTH_SCHEMA = pa.schema(
    [
        ("install_event_id", pa.string()),
        ("app_id", pa.string()),
        ("device_key", pa.string()),
        ("platform", pa.string()),
        ("country", pa.string()),
        ("install_time", pa.timestamp("ms", tz="UTC")),
        ("acquisition", pa.string()),  # organic | click | view
        ("causal_touch_event_id", pa.string()),
        ("causal_touch_type", pa.string()),
        ("causal_network", pa.string()),
        ("causal_campaign", pa.string()),
        ("causal_adset", pa.string()),
        ("causal_ad", pa.string()),
        ("match", pa.string()),
        ("ctit_s", pa.float64()),
        ("is_fraud", pa.bool_()),
        ("fraud_kind", pa.string()),
        ("fraud_touch_event_id", pa.string()),
        ("is_reinstall", pa.bool_()),
        ("previous_install_event_id", pa.string()),
        ("is_reengagement", pa.bool_()),
        ("reengagement_touch_event_id", pa.string()),
        ("reengagement_open_event_id", pa.string()),
        ("reengagement_network", pa.string()),
        ("reengagement_campaign", pa.string()),
        ("retained_d1", pa.bool_()),
        ("retained_d7", pa.bool_()),
        ("retained_d30", pa.bool_()),
        ("is_payer", pa.bool_()),
        ("revenue_d7", pa.float64()),
        ("revenue_d30", pa.float64()),
        ("revenue_observed", pa.float64()),
    ]
)


def truth_batch(chunk: Chunk) -> pa.RecordBatch:
    """Ground truth of the chunk's installs, one row each (schema `TRUTH_SCHEMA`)."""
    world = chunk.world
    truth = chunk.truth
    events = chunk.events
    devices = chunk.devices
    prefix = f"s{world.params.seed}-{chunk.index:x}-"

    def ids(rows: np.ndarray) -> list[str | None]:
        return [f"{prefix}{r:x}" if r >= 0 else None for r in rows.tolist()]

    def ad_field(rows: np.ndarray, attr: str) -> list[str | None]:
        ads = np.where(rows >= 0, events["ad"][np.maximum(rows, 0)], -1)
        return [getattr(world.ads[a], attr) if a >= 0 else None for a in ads.tolist()]

    def coded(values: np.ndarray, names: tuple[str, ...]) -> list[str | None]:
        return [names[v] if v >= 0 else None for v in values.tolist()]

    dev = truth["dev"]
    causal = truth["causal"]
    install_ts = events["ts"][truth["install"]]
    has_causal = causal >= 0
    causal_ts = events["ts"][np.maximum(causal, 0)]
    ctit = np.where(has_causal, (install_ts - causal_ts) / 1000.0, np.nan)
    kinds = np.where(has_causal, events["kind"][np.maximum(causal, 0)], -1)
    codes = tuple(c.code for c in world.params.countries)
    columns: list[Any] = [
        ids(truth["install"]),
        [world.params.app_ids[a] for a in devices.column("app")[dev].tolist()],
        [devices.keys[d] for d in dev.tolist()],
        coded(devices.column("platform")[dev], ("ios", "android")),
        coded(devices.column("country")[dev], codes),
        pa.array(install_ts, pa.timestamp("ms", tz="UTC")),
        coded(truth["acq"], ("organic", "click", "view")),
        ids(causal),
        coded(kinds, TYPES),
        ad_field(causal, "network"),
        ad_field(causal, "campaign"),
        ad_field(causal, "adset"),
        ad_field(causal, "ad"),
        coded(truth["match"], MATCHES),
        pa.array(ctit, pa.float64(), mask=~has_causal),
        truth["fraud_kind"] >= 0,
        coded(truth["fraud_kind"], FRAUD_KINDS),
        ids(truth["fraud_touch"]),
        truth["reinstall"],
        ids(truth["prev_install"]),
        truth["re_touch"] >= 0,
        ids(truth["re_touch"]),
        ids(truth["re_open"]),
        ad_field(truth["re_touch"], "network"),
        ad_field(truth["re_touch"], "campaign"),
        truth["ret1"],
        truth["ret7"],
        truth["ret30"],
        truth["payer"],
        np.round(truth["rev7"], 2),
        np.round(truth["rev30"], 2),
        np.round(truth["rev_observed"], 2),
    ]
    return pa.RecordBatch.from_arrays(
        [pa.array(c, type=f.type) for c, f in zip(columns, TRUTH_SCHEMA, strict=True)],
        schema=TRUTH_SCHEMA,
    )
