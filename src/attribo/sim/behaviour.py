"""Post-install behaviour: sessions on a power-law retention curve, in-app events, purchases.

Each user gets an engagement level q ~ Gamma(shape, mean 1). On day k (k = 1..30 after the
install) the user is active with probability min(1, d1 * k**-decay * q), so the cohort's Dk
retention is about d1 * k**-decay while engaged users stay longer. Payers are drawn with
probability payer_share * q, so revenue concentrates in the engaged; each payer has a typical
price from a log-normal (a few whales pay 100x the median).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.random import Generator

from attribo.sim.model import (
    DAY_MS,
    EVENT,
    LEVEL_UP,
    OPEN,
    PURCHASE,
    S2S_SIGNED,
    SDK,
    SIGN_UP,
    TUTORIAL,
    Chunk,
)

Emit = Callable[..., np.ndarray]
HORIZON_DAYS = 30
PRICE_POINTS = np.array([0.99, 1.99, 2.99, 4.99, 9.99, 19.99, 49.99, 99.99])


def _uniform_ms(rng: Generator, low_s: float, high_s: float, n: int) -> np.ndarray:
    return (rng.uniform(low_s, high_s, n) * 1000).astype(np.int64)


def add_behaviour(
    chunk: Chunk,
    rng: Generator,
    truth_rows: np.ndarray,
    devices: np.ndarray,
    install_ts: np.ndarray,
    cut_ms: np.ndarray,
) -> None:
    """Add opens and in-app events after each install; fill retention and revenue truth.

    `cut_ms` ends a user's activity early (the device uninstalled and installed again then);
    events after the simulated period are drawn (for the truth) but never emitted.
    """
    world = chunk.world
    ret = world.params.retention
    n = len(truth_rows)
    if n == 0:
        return
    quality = rng.gamma(ret.engagement_shape, 1.0 / ret.engagement_shape, n)
    days = np.arange(1, HORIZON_DAYS + 1)
    chance = np.minimum(1.0, ret.d1 * days[None, :] ** -ret.decay * quality[:, None])
    active = rng.random((n, HORIZON_DAYS)) < chance
    counts = np.empty((n, HORIZON_DAYS + 1), dtype=np.int64)
    counts[:, 0] = rng.poisson(ret.day0_extra_opens, n)
    counts[:, 1:] = active * (1 + rng.poisson(ret.extra_opens, (n, HORIZON_DAYS)))
    cell = np.repeat(np.arange(n * (HORIZON_DAYS + 1)), counts.ravel())
    user = cell // (HORIZON_DAYS + 1)
    day = cell % (HORIZON_DAYS + 1)
    offset = np.where(
        day == 0,
        _uniform_ms(rng, 120, 20 * 3600, len(cell)),
        _uniform_ms(rng, 0, 86_399.999, len(cell)),
    )
    session_ts = install_ts[user] + day * DAY_MS + offset
    live = session_ts < cut_ms[user]
    user, day, session_ts = user[live], day[live], session_ts[live]

    truth = chunk.truth
    for k, column in ((1, "ret1"), (7, "ret7"), (30, "ret30")):
        truth[column][truth_rows] = np.bincount(user[day == k], minlength=n) > 0

    signed_in = np.array([chunk.devices.user_ids[d] is not None for d in devices.tolist()])
    emit_end = np.minimum(cut_ms, world.end_ms)

    def emit(users: np.ndarray, ts: np.ndarray, kind: int, **columns: object) -> np.ndarray:
        keep = ts < emit_end[users]
        cols = {k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in columns.items()}
        chunk.add_events(
            ts=ts[keep], kind=kind, dev=devices[users[keep]], uid=signed_in[users[keep]], **cols
        )
        return keep

    emit(user, session_ts, OPEN)
    # Day 0: sign-up (signed-in users) and the tutorial.
    everyone = np.arange(n)
    joined = everyone[signed_in]
    emit(joined, install_ts[joined] + _uniform_ms(rng, 30, 600, len(joined)), EVENT, name=SIGN_UP)
    tut = everyone[rng.random(n) < ret.tutorial_share]
    emit(tut, install_ts[tut] + _uniform_ms(rng, 60, 1200, len(tut)), EVENT, name=TUTORIAL)
    # Level-ups during sessions, numbered per user in time order.
    per_session = rng.poisson(ret.level_ups_per_session, len(session_ts))
    lu_user = np.repeat(user, per_session)
    lu_ts = np.repeat(session_ts, per_session) + _uniform_ms(rng, 30, 900, int(per_session.sum()))
    order = np.lexsort((lu_ts, lu_user))
    lu_user, lu_ts = lu_user[order], lu_ts[order]
    first = np.searchsorted(lu_user, lu_user, side="left")
    level = np.arange(len(lu_user)) - first + 2
    emit(lu_user, lu_ts, EVENT, name=LEVEL_UP, level=level)
    _purchases(chunk, rng, truth_rows, quality, user, session_ts, install_ts, cut_ms, emit)


def _purchases(
    chunk: Chunk,
    rng: Generator,
    truth_rows: np.ndarray,
    quality: np.ndarray,
    session_user: np.ndarray,
    session_ts: np.ndarray,
    install_ts: np.ndarray,
    cut_ms: np.ndarray,
    emit: Emit,
) -> None:
    """Purchases of payers, attached to their sessions (the install session included)."""
    mon = chunk.world.params.monetisation
    n = len(truth_rows)
    payer = rng.random(n) < np.minimum(1.0, mon.payer_share * quality)
    truth = chunk.truth
    truth["payer"][truth_rows] = payer
    active_days = np.bincount(session_user, minlength=n)
    n_buys = np.where(payer, 1 + rng.poisson(mon.purchases_per_active_day * active_days), 0)
    # All sessions per user, sorted by user, with the install as session zero.
    s_user = np.concatenate([np.arange(n), session_user])
    s_ts = np.concatenate([install_ts, session_ts])
    order = np.argsort(s_user, kind="stable")
    s_user, s_ts = s_user[order], s_ts[order]
    first = np.searchsorted(s_user, np.arange(n), side="left")
    count = np.bincount(s_user, minlength=n)
    buyer = np.repeat(np.arange(n), n_buys)
    pick = first[buyer] + (rng.random(len(buyer)) * count[buyer]).astype(np.int64)
    ts = s_ts[pick] + (rng.uniform(20, 600, len(buyer)) * 1000).astype(np.int64)
    typical = np.exp(np.log(mon.spend_median_usd) + mon.spend_sigma * rng.standard_normal(n))
    wanted = typical[buyer] * np.exp(0.3 * rng.standard_normal(len(buyer)))
    # Nearest store price point on a log scale.
    logs = np.log(PRICE_POINTS)
    idx = np.clip(np.searchsorted(logs, np.log(wanted)), 1, len(logs) - 1)
    lower_closer = np.log(wanted) - logs[idx - 1] < logs[idx] - np.log(wanted)
    revenue = PRICE_POINTS[np.where(lower_closer, idx - 1, idx)]
    live = ts < cut_ms[buyer]
    buyer, ts, revenue = buyer[live], ts[live], revenue[live]
    since = ts - install_ts[buyer]
    truth["rev7"][truth_rows] = np.bincount(buyer, revenue * (since < 7 * DAY_MS), minlength=n)
    truth["rev30"][truth_rows] = np.bincount(buyer, revenue * (since < 30 * DAY_MS), minlength=n)
    channel = np.where(rng.random(len(buyer)) < mon.s2s_share, S2S_SIGNED, SDK).astype(np.int8)
    keep = emit(buyer, ts, EVENT, name=PURCHASE, revenue=revenue, channel=channel)
    truth["rev_observed"][truth_rows] = np.bincount(buyer[keep], revenue[keep], minlength=n)
