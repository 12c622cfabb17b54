"""Ad touches: click-to-install times, network and ad choice, and the match a touch allows."""

from __future__ import annotations

import numpy as np
from numpy.random import Generator

from attribo.sim.model import CLICK, DAY_MS, Chunk, World
from attribo.sim.params import CtitParams

CLICK_ID_MATCH, DEVICE_MATCH, FINGERPRINT_MATCH = 0, 1, 2


def ctit_ms(rng: Generator, ctit: CtitParams, n: int, view: bool = False) -> np.ndarray:
    """Click-to-install times in ms: floor + log-normal, resampled beyond the window."""
    cap = ctit.view_max_s if view else ctit.max_s
    out = np.empty(n, dtype=np.float64)
    todo = np.arange(n)
    while len(todo):
        draw = ctit.floor_s + np.exp(ctit.mu + ctit.sigma * rng.standard_normal(len(todo)))
        ok = draw <= cap
        out[todo[ok]] = draw[ok]
        todo = todo[~ok]
    return (out * 1000).astype(np.int64)


def network_shares(world: World) -> np.ndarray:
    """Each network's share of genuine paid installs, normalised."""
    shares = np.array([n.share for n in world.params.networks], dtype=np.float64)
    return shares / shares.sum()


def pick_ads(world: World, rng: Generator, network: np.ndarray) -> np.ndarray:
    """An acquisition ad of each given network (earlier ads of a network get more traffic)."""
    ads = np.empty(len(network), dtype=np.int64)
    for index, pool in enumerate(world.network_ads):
        mine = np.flatnonzero(network == index)
        if len(mine) == 0:
            continue
        weights = 1.0 / np.arange(1, len(pool) + 1)
        ads[mine] = pool[rng.choice(len(pool), len(mine), p=weights / weights.sum())]
    return ads


def carries_click_id(world: World, ad: np.ndarray, platform: np.ndarray) -> np.ndarray:
    """Clicks whose id reaches the install: the network passes one, on Google Play."""
    nets = world.params.networks
    supports = np.array([n.click_ids for n in nets], dtype=np.bool_)[world.ad_network[ad]]
    return supports & (platform == 1)


def add_fraud_clicks(
    chunk: Chunk, rng: Generator, devices: np.ndarray, ts: np.ndarray
) -> np.ndarray:
    """Clicks from the fraudulent network (its ads and sub-publisher sites) for `devices`."""
    world = chunk.world
    pool = world.network_ads[world.fraud_network]
    ad = pool[rng.integers(0, len(pool), len(devices))]
    platform = chunk.devices.column("platform")[devices]
    return chunk.add_events(
        ts=ts,
        kind=CLICK,
        dev=devices,
        ad=ad,
        site=rng.integers(100, 140, len(devices)),
        has_click_id=carries_click_id(world, ad, platform),
        full_device=False,
    )


def match_type(
    chunk: Chunk,
    devices: np.ndarray,
    is_click: np.ndarray,
    via_click_id: np.ndarray,
    ctit: np.ndarray,
) -> np.ndarray:
    """The strongest match (rule 2) that links each install to its touch; -1 if none does."""
    dev = chunk.devices
    ad_id_ok = dev.column("ad_id_ok")[devices]
    same_ip = dev.column("same_touch_ip")[devices]
    out = np.full(len(devices), -1, dtype=np.int8)
    out[is_click & same_ip & (ctit <= DAY_MS)] = FINGERPRINT_MATCH
    out[ad_id_ok] = DEVICE_MATCH
    out[via_click_id] = CLICK_ID_MATCH
    return out
