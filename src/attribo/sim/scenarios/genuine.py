"""Genuine users: organic and paid installs, assist touches, re-installs, re-engagement."""

from __future__ import annotations

import numpy as np
from numpy.random import Generator

from attribo.sim.behaviour import add_behaviour
from attribo.sim.devices import make_phones
from attribo.sim.model import (
    CLICK,
    CLICK_ACQ,
    DAY_MS,
    IMPRESSION,
    INSTALL,
    OPEN,
    ORGANIC_ACQ,
    VIEW_ACQ,
    Chunk,
)
from attribo.sim.params import SimParams
from attribo.sim.touches import carries_click_id, ctit_ms, match_type, network_shares, pick_ads

REFERRER_KEPT = 0.95  # Play install referrers that reach the SDK with the click id
REINSTALL_PAID = 0.4  # re-installs that follow a new ad click (else organic)


class Genuine:
    """Real people installing the apps: the remainder after the fraud install shares."""

    name = "genuine"

    def install_share(self, params: SimParams) -> float:
        """Genuine installs take what fraud leaves (computed by the engine)."""
        return -1.0

    def generate(self, chunk: Chunk, rng: Generator, installs: int) -> None:
        """First installs, re-installs, their touches and post-install behaviour."""
        world = chunk.world
        params = world.params
        n_reinstall = min(installs, round(installs * params.reinstall_share))
        if chunk.day_start_ms + 3 * DAY_MS > world.end_ms:
            n_reinstall = 0  # no room left in the period for a second install
        n = installs - n_reinstall
        app = rng.integers(0, len(params.app_ids), n)
        dev = make_phones(world, chunk, rng, app)
        install_ts = chunk.day_start_ms + rng.integers(0, DAY_MS, n)
        paid = rng.random(n) >= params.organic_share
        install_rows, truth = self._acquire(chunk, rng, dev, install_ts, paid)
        # Re-installs: some of these devices install again later in the period.
        room = world.end_ms - install_ts > 2 * DAY_MS + 1000
        cand = np.flatnonzero(room)
        again = np.sort(rng.choice(cand, min(n_reinstall, len(cand)), replace=False))
        gap = rng.uniform(2 * DAY_MS, np.minimum(28 * DAY_MS, world.end_ms - install_ts[again]))
        re_ts = install_ts[again] + gap.astype(np.int64)
        re_paid = rng.random(len(again)) < REINSTALL_PAID
        _re_rows, re_truth = self._acquire(
            chunk, rng, dev[again], re_ts, re_paid, not_before=install_ts[again]
        )
        chunk.truth["reinstall"][re_truth] = True
        chunk.truth["prev_install"][re_truth] = install_rows[again]
        cut = np.full(n, np.iinfo(np.int64).max // 2, dtype=np.int64)
        cut[again] = re_ts
        # Re-engagement of some users who did not re-install.
        self._reengage(chunk, rng, np.setdiff1d(np.arange(n), again), dev, install_ts, truth)
        all_truth = np.concatenate([truth, re_truth])
        all_dev = np.concatenate([dev, dev[again]])
        all_ts = np.concatenate([install_ts, re_ts])
        all_cut = np.concatenate([cut, np.full(len(again), cut.max(initial=0), dtype=np.int64)])
        add_behaviour(chunk, rng, all_truth, all_dev, all_ts, all_cut)

    def _acquire(
        self,
        chunk: Chunk,
        rng: Generator,
        dev: np.ndarray,
        install_ts: np.ndarray,
        paid: np.ndarray,
        not_before: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Causal and assist touches, the install events and their truth rows."""
        world = chunk.world
        params = world.params
        n = len(dev)
        platform = chunk.devices.column("platform")[dev]
        shares = network_shares(world)
        network = rng.choice(len(shares), n, p=shares)
        view_w = np.array([net.view_share for net in params.networks])
        p_view = params.view_through_share * view_w / float((shares * view_w).sum())
        view = paid & (rng.random(n) < p_view[network])
        ctit = np.where(view, ctit_ms(rng, params.ctit, n, view=True), ctit_ms(rng, params.ctit, n))
        if not_before is not None:  # a re-install's touch comes after the first install
            ctit = np.minimum(ctit, install_ts - not_before - 1000)
        ad = pick_ads(world, rng, network)
        has_cid = paid & ~view & carries_click_id(world, ad, platform)
        touch_ts = install_ts - ctit
        p = np.flatnonzero(paid)
        causal_rows = np.full(n, -1, dtype=np.int64)
        causal_rows[p] = chunk.add_events(
            ts=touch_ts[p],
            kind=np.where(view[p], IMPRESSION, CLICK),
            dev=dev[p],
            ad=ad[p],
            has_click_id=has_cid[p],
            full_device=False,
        )
        self._assists(chunk, rng, dev[p], install_ts[p], touch_ts[p], platform[p], not_before, p)
        via_cid = has_cid & (rng.random(n) < REFERRER_KEPT)
        ref = np.where(via_cid, causal_rows, -1)
        install_rows = chunk.add_events(ts=install_ts, kind=INSTALL, dev=dev, ref=ref)
        match = match_type(chunk, dev, paid & ~view, via_cid, ctit)
        truth_rows = chunk.add_installs(
            install=install_rows,
            dev=dev,
            acq=np.where(paid, np.where(view, VIEW_ACQ, CLICK_ACQ), ORGANIC_ACQ),
            causal=causal_rows,
            match=np.where(paid, match, -1),
        )
        return install_rows, truth_rows

    def _assists(
        self,
        chunk: Chunk,
        rng: Generator,
        dev: np.ndarray,
        install_ts: np.ndarray,
        causal_ts: np.ndarray,
        platform: np.ndarray,
        not_before: np.ndarray | None,
        paid_index: np.ndarray,
    ) -> None:
        """Earlier touches (mostly impressions, some clicks) from any network."""
        world = chunk.world
        count = rng.poisson(world.params.extra_touches_mean, len(dev))
        owner = np.repeat(np.arange(len(dev)), count)
        earliest = install_ts[owner] - 7 * DAY_MS
        if not_before is not None:
            earliest = np.maximum(earliest, not_before[paid_index[owner]] + 1000)
        span = np.maximum(causal_ts[owner] - earliest, 1)
        ts = earliest + (rng.random(len(owner)) * span).astype(np.int64)
        shares = network_shares(world)
        ad = pick_ads(world, rng, rng.choice(len(shares), len(owner), p=shares))
        is_click = rng.random(len(owner)) < 0.35
        chunk.add_events(
            ts=ts,
            kind=np.where(is_click, CLICK, IMPRESSION),
            dev=dev[owner],
            ad=ad,
            has_click_id=is_click & carries_click_id(world, ad, platform[owner]),
            full_device=False,
        )

    def _reengage(
        self,
        chunk: Chunk,
        rng: Generator,
        eligible: np.ndarray,
        dev: np.ndarray,
        install_ts: np.ndarray,
        truth: np.ndarray,
    ) -> None:
        """A retargeting click days after the install, then an open within 24 hours."""
        world = chunk.world
        if len(world.retargeting_ads) == 0:
            return
        latest = world.end_ms - DAY_MS
        ok = eligible[install_ts[eligible] + 4 * DAY_MS < latest]
        who = ok[rng.random(len(ok)) < world.params.reengagement_share]
        low = install_ts[who] + 3 * DAY_MS
        click_ts = low + (rng.random(len(who)) * (latest - low)).astype(np.int64)
        ad = world.retargeting_ads[rng.integers(0, len(world.retargeting_ads), len(who))]
        platform = chunk.devices.column("platform")[dev[who]]
        touch = chunk.add_events(
            ts=click_ts,
            kind=CLICK,
            dev=dev[who],
            ad=ad,
            has_click_id=carries_click_id(world, ad, platform),
            full_device=False,
        )
        delay = np.minimum(np.exp(np.log(900) + 1.2 * rng.standard_normal(len(who))), 23 * 3600)
        signed_in = np.array(
            [chunk.devices.user_ids[d] is not None for d in dev[who].tolist()], dtype=np.bool_
        )
        opened = chunk.add_events(
            ts=click_ts + (delay * 1000).astype(np.int64) + 1000,
            kind=OPEN,
            dev=dev[who],
            uid=signed_in,
        )
        chunk.truth["re_touch"][truth[who]] = touch
        chunk.truth["re_open"][truth[who]] = opened
