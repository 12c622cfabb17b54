"""Training and evaluation labels from the simulator's truth, per install.

The unit is the install as attributed. Injection and flooding are real installs whose
credit a fraud click tries to steal: they count as fraud when our attribution did credit
the fraud click, and as clean when the rules of attribution already gave the credit to the
right touch. An install credited to a click the simulator made for its fraudulent source
(a flood click that matched by fingerprint on a shared IP) had its credit stolen by
flooding, even where the simulator's truth calls it clean.
"""

from __future__ import annotations

import pyarrow as pa

from attribo.events.record import StoredEvent

STEALING = ("click_injection", "click_flooding")
KINDS = ("click_injection", "click_flooding", "device_farm", "bot", "sdk_spoofing")


def fraud_labels(
    installs: list[StoredEvent], truth: pa.Table, fraud_network: str
) -> list[str | None]:
    """The fraud kind of each install as attributed (None = clean)."""
    rows = truth.select(["install_event_id", "fraud_kind", "fraud_touch_event_id"]).to_pylist()
    by_id = {row["install_event_id"]: row for row in rows}
    out: list[str | None] = []
    for record in installs:
        row = by_id.get(record.event_id)
        kind = row["fraud_kind"] if row else None
        stolen_by = row["fraud_touch_event_id"] if row else None
        if kind in STEALING and record.touch_event_id != stolen_by:
            kind = None  # attribution credited the right touch: nothing was stolen
        if kind is None and record.attributed_network == fraud_network:
            kind = "click_flooding"
        out.append(kind)
    return out
