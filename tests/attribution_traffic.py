"""Random attribution traffic that hits every rule (imported as `attribution_traffic`).

Shared click ids, ad ids and fingerprints, ties in time, out-of-order event times,
re-installs inside and outside the re-attribution window, touches just inside and just
outside each window, retargeting clicks.
"""

from __future__ import annotations

from hypothesis import strategies as st

from attribo.attribution.settings import DAY_MS, HOUR_MS
from attribo.events.record import StoredEvent

T0 = 1_750_000_000_000
DEVICES = [
    ("ios", "aaaa-1", "v1", "1.1.1.1", "17.4"),
    ("ios", None, "v2", "1.1.1.1", "17.4"),  # no ATT consent: idfv only
    ("ios", "aaaa-3", "v3", "2.2.2.2", "16.0"),
    ("android", "gggg-1", "a1", "1.1.1.1", "14"),
    ("android", None, "a2", "3.3.3.3", "14"),  # limit ad tracking
    ("android", "gggg-3", "a3", "3.3.3.3", "13"),
]
# Offsets that land exactly on, just inside and just outside the windows.
EDGES = [
    0,
    1,
    HOUR_MS,
    6 * HOUR_MS,
    DAY_MS - 1,
    DAY_MS,
    DAY_MS + 1,
    2 * DAY_MS,
    7 * DAY_MS,
    7 * DAY_MS + 1,
    20 * DAY_MS,
    95 * DAY_MS,
]

event_spec = st.tuples(
    st.sampled_from(["click", "click", "impression", "install", "open"]),
    st.integers(0, len(DEVICES) - 1),
    st.sampled_from(["meta", "google_ads", "tiktok"]),
    st.sampled_from([None, "ck1", "ck2"]),  # click id
    # Event time offset: mostly close together (so windows decide), some far, some on edges.
    st.integers(0, 2 * DAY_MS)
    | st.integers(0, 2 * HOUR_MS)
    | st.sampled_from(EDGES)
    | st.integers(0, 100 * DAY_MS),
    st.booleans(),  # does the touch carry the device's ad id
)


def build(app_id: str, specs: list[tuple]) -> list[StoredEvent]:
    """Records in arrival order, with every field the rules read."""
    records = []
    for n, (kind, dev, network, click_id, offset, with_ad_id) in enumerate(specs):
        platform, ad_id, vendor_id, ip, os_version = DEVICES[dev]
        is_touch = kind in ("click", "impression")
        idfa = ad_id if platform == "ios" and (with_ad_id or not is_touch) else None
        gaid = ad_id if platform == "android" and (with_ad_id or not is_touch) else None
        records.append(
            StoredEvent(
                app_id=app_id,
                event_id=f"e{n % 7}-{n:03d}",  # not in arrival order: tests the id tie-break
                type=kind,
                event_time=T0 + offset,
                received_at=T0,
                platform=platform,
                idfa=idfa,
                gaid=gaid,
                idfv=None if is_touch or platform != "ios" else vendor_id,
                android_id=None if is_touch or platform != "android" else vendor_id,
                ip=ip,
                os_version=os_version,
                click_id=click_id if kind != "impression" else None,
                network=network if is_touch else None,
                campaign=f"{network}-c" if is_touch else None,
                seq=1_000 + n,
                # Clicks of one network come through a retargeting link.
                retargeting=kind == "click" and network == "google_ads",
            )
        )
    return records
