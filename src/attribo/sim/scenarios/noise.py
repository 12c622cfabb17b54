"""Non-converting ad traffic: clicks and impressions of people who never install."""

from __future__ import annotations

import numpy as np
from numpy.random import Generator

from attribo.sim.devices import make_phones
from attribo.sim.model import CLICK, DAY_MS, IMPRESSION, Chunk
from attribo.sim.params import SimParams
from attribo.sim.touches import carries_click_id, network_shares, pick_ads

NOISE_CLICK_SHARE = 0.4  # of non-converting touches, the share that are clicks


class NoiseTouches:
    """Touches that convert nobody: attribution candidates that must lose."""

    name = "noise"

    def install_share(self, params: SimParams) -> float:
        """Creates touches only."""
        return 0.0

    def generate(self, chunk: Chunk, rng: Generator, installs: int) -> None:
        """`noise_touches_per_install` touches per install of the chunk, on its day."""
        world = chunk.world
        n = round(chunk.installs_planned * world.params.noise_touches_per_install)
        if n == 0:
            return
        dev = make_phones(world, chunk, rng, rng.integers(0, len(world.params.app_ids), n))
        shares = network_shares(world)
        ad = pick_ads(world, rng, rng.choice(len(shares), n, p=shares))
        is_click = rng.random(n) < NOISE_CLICK_SHARE
        platform = chunk.devices.column("platform")[dev]
        chunk.add_events(
            ts=chunk.day_start_ms + rng.integers(0, DAY_MS, n),
            kind=np.where(is_click, CLICK, IMPRESSION),
            dev=dev,
            ad=ad,
            has_click_id=is_click & carries_click_id(world, ad, platform),
            full_device=False,
        )
