"""Daily cost rows (`POST /v1/costs` shape) consistent with the simulated touches and installs.

Per (date, app, ad, country), counted by the day of the touch: emitted clicks and impressions,
and installs the network is paid for (the fraudulent touch if one steals the credit, else the
causal one). A network reports more than the SDK-visible sample of non-converting traffic:
clicks = max(emitted, installs / cvr), impressions = max(emitted, clicks / ctr), and
spend = impressions * CPM / 1000 with CPM = cpi * cvr * ctr * 1000 * country cost_index, so an
ad's effective CPI is its network's `cpi_usd` scaled by the country's cost index.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from attribo.sim.model import CLICK, DAY_MS, IMPRESSION, Chunk, World

_MAX_BACK_DAYS = 16  # touches may precede the period by up to a week (key offset)


class CostLedger:
    """Accumulates counts per (day, app, ad, country) over chunks."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.counts: dict[int, np.ndarray] = {}  # key -> [clicks, impressions, installs]
        self._sizes = (len(world.params.app_ids), len(world.ads), len(world.params.countries))

    def _keys(self, chunk: Chunk, rows: np.ndarray) -> np.ndarray:
        events = chunk.events
        devices = events["dev"][rows]
        day = (events["ts"][rows] - self.world.start_ms) // DAY_MS + _MAX_BACK_DAYS
        n_apps, n_ads, n_countries = self._sizes
        app = chunk.devices.column("app")[devices]
        country = chunk.devices.column("country")[devices]
        return ((day * n_apps + app) * n_ads + events["ad"][rows]) * n_countries + country

    def _add(self, keys: np.ndarray, column: int) -> None:
        unique, counts = np.unique(keys, return_counts=True)
        for key, count in zip(unique.tolist(), counts.tolist(), strict=True):
            slot = self.counts.get(key)
            if slot is None:
                slot = self.counts[key] = np.zeros(3, dtype=np.int64)
            slot[column] += count

    def add(self, chunk: Chunk) -> None:
        """Count a chunk's touches and paid installs."""
        kind = chunk.events["kind"]
        touch = chunk.events["ad"] >= 0
        self._add(self._keys(chunk, np.flatnonzero(touch & (kind == CLICK))), 0)
        self._add(self._keys(chunk, np.flatnonzero(touch & (kind == IMPRESSION))), 1)
        truth = chunk.truth
        billed = np.where(truth["fraud_touch"] >= 0, truth["fraud_touch"], truth["causal"])
        self._add(self._keys(chunk, billed[billed >= 0]), 2)

    def rows(self) -> list[dict[str, Any]]:
        """The cost rows, sorted by date, app, network, campaign, ad set, ad, country."""
        params = self.world.params
        n_apps, n_ads, n_countries = self._sizes
        nets = {n.name: n for n in params.networks}
        out = []
        for key in sorted(self.counts):
            clicks, impressions, installs = (int(v) for v in self.counts[key])
            rest, country = divmod(key, n_countries)
            rest, ad_index = divmod(rest, n_ads)
            day, app = divmod(rest, n_apps)
            ad = self.world.ads[ad_index]
            net = nets[ad.network]
            spec = params.countries[country]
            clicks = max(clicks, round(installs / net.cvr))
            impressions = max(impressions, round(clicks / net.ctr))
            cpm = net.cpi_usd * net.cvr * net.ctr * 1000 * spec.cost_index
            when = self.world.start_ms + (day - _MAX_BACK_DAYS) * DAY_MS
            out.append(
                {
                    "date": datetime.fromtimestamp(when / 1000, UTC).date().isoformat(),
                    "app_id": params.app_ids[app],
                    "network": ad.network,
                    "campaign": ad.campaign,
                    "adset": ad.adset,
                    "ad": ad.ad,
                    "country": spec.code,
                    "spend": round(impressions * cpm / 1000, 2),
                    "currency": "USD",
                    "impressions": impressions,
                    "clicks": clicks,
                }
            )
        out.sort(
            key=lambda r: tuple(
                r[k] for k in ("date", "app_id", "network", "campaign", "adset", "ad", "country")
            )
        )
        return out
