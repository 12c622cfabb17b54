"""Fraud that steals credit for real installs: click injection and click flooding.

Both are overlays: they add fraudulent clicks to genuine installs made by `genuine`, and mark
those installs in the truth (`fraud_kind`, `fraud_touch`) while the causal touch stays what it
was (organic for flooding victims). A flood also clicks for many devices that never install.
"""

from __future__ import annotations

import numpy as np
from numpy.random import Generator

from attribo.sim.devices import make_phones
from attribo.sim.model import DAY_MS, FLOODING, INJECTION, ORGANIC_ACQ, Chunk
from attribo.sim.params import SimParams
from attribo.sim.touches import add_fraud_clicks


def _victims(chunk: Chunk, rng: Generator, share: float, android_only: bool) -> np.ndarray:
    """Genuine first installs chosen with probability `share` (truth rows)."""
    truth = chunk.truth
    ok = (truth["fraud_kind"] == -1) & ~truth["reinstall"] & (truth["install"] >= 0)
    if android_only:
        ok &= chunk.devices.column("platform")[truth["dev"]] == 1
    rows = np.flatnonzero(ok)
    return rows[rng.random(len(rows)) < share]


class ClickInjection:
    """Malware on Android fires a click seconds before the install it sees starting."""

    name = "click_injection"

    def install_share(self, params: SimParams) -> float:
        """An overlay: creates no installs."""
        return 0.0

    def generate(self, chunk: Chunk, rng: Generator, installs: int) -> None:
        """Inject a click 1-60 s (median 6 s) before some Android installs."""
        rows = _victims(chunk, rng, chunk.world.params.fraud.click_injection_share, True)
        truth = chunk.truth
        install_ts = chunk.events["ts"][truth["install"][rows]]
        gap_s = np.clip(np.exp(np.log(6.0) + 0.7 * rng.standard_normal(len(rows))), 1, 60)
        touches = add_fraud_clicks(
            chunk, rng, truth["dev"][rows], install_ts - (gap_s * 1000).astype(np.int64)
        )
        truth["fraud_kind"][rows] = INJECTION
        truth["fraud_touch"][rows] = touches


class ClickFlooding:
    """A source clicks for huge numbers of devices and catches some organic installs."""

    name = "click_flooding"

    def install_share(self, params: SimParams) -> float:
        """An overlay: creates no installs."""
        return 0.0

    def generate(self, chunk: Chunk, rng: Generator, installs: int) -> None:
        """Flood clicks with a flat time-to-install over 7 days, plus non-converting ones."""
        fraud = chunk.world.params.fraud
        rows = _victims(chunk, rng, fraud.click_flooding_share, False)
        truth = chunk.truth
        rows = rows[truth["acq"][rows] == ORGANIC_ACQ]
        install_ts = chunk.events["ts"][truth["install"][rows]]
        gap = rng.integers(60_000, 7 * DAY_MS, len(rows))
        touches = add_fraud_clicks(chunk, rng, truth["dev"][rows], install_ts - gap)
        truth["fraud_kind"][rows] = FLOODING
        truth["fraud_touch"][rows] = touches
        # The flood's bulk: devices that never install (tiny conversion rate).
        bulk = round(len(rows) * fraud.flood_clicks_per_hit)
        if bulk:
            world = chunk.world
            app = rng.integers(0, len(world.params.app_ids), bulk)
            dev = make_phones(world, chunk, rng, app)
            ts = chunk.day_start_ms + rng.integers(-6 * DAY_MS, DAY_MS, bulk)
            add_fraud_clicks(chunk, rng, dev, np.maximum(ts, world.start_ms - 7 * DAY_MS))
