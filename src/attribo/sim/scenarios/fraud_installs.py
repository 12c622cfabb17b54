"""Fake installs: device farms, bots and SDK spoofing, each credited to the fraudulent source.

The fraudulent click is the causal touch of these installs (it is what produced them), and the
truth marks them `is_fraud` with their kind: a correct attributor blocks them.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import numpy as np
from numpy.random import Generator, default_rng

from attribo.sim import catalog
from attribo.sim.devices import hex_ids, ip_strings, random_ips, register, uuids
from attribo.sim.model import (
    BOT,
    CLICK_ACQ,
    DAY_MS,
    EVENT,
    FARM,
    HOUR_MS,
    INSTALL,
    OPEN,
    PURCHASE,
    S2S_BAD_SIGNATURE,
    SDK,
    SPOOFING,
    Chunk,
)
from attribo.sim.params import SimParams
from attribo.sim.touches import DEVICE_MATCH, add_fraud_clicks, ctit_ms


def _fake_installs(
    chunk: Chunk,
    rng: Generator,
    full: list[dict[str, Any]],
    kind: int,
    gap_ms: np.ndarray,
    channel: np.ndarray | int = SDK,
    country_code: str = "US",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Register devices, a fraud click each, the install; returns devices, installs, times."""
    world = chunk.world
    n = len(full)
    app = rng.integers(0, len(world.params.app_ids), n)
    platform = np.array([0 if d["platform"] == "ios" else 1 for d in full], dtype=np.int8)
    codes = [c.code for c in world.params.countries]
    country = np.full(n, codes.index(country_code) if country_code in codes else 0)
    dev = register(chunk, full, app, platform, country, np.ones(n, dtype=np.bool_))
    install_ts = chunk.day_start_ms + rng.integers(0, DAY_MS, n)
    touches = add_fraud_clicks(chunk, rng, dev, install_ts - gap_ms)
    installs = chunk.add_events(ts=install_ts, kind=INSTALL, dev=dev, channel=channel)
    chunk.add_installs(
        install=installs,
        dev=dev,
        acq=CLICK_ACQ,
        causal=touches,
        match=np.where(chunk.devices.column("ad_id_ok")[dev], DEVICE_MATCH, -1),
        fraud_kind=kind,
        fraud_touch=touches,
    )
    return dev, installs, install_ts


class DeviceFarm:
    """Racks of one cheap phone model on a few /24 subnets, reset for every install."""

    name = "device_farm"

    def install_share(self, params: SimParams) -> float:
        """Configured farm share of all installs."""
        return params.fraud.device_farm_share

    def generate(self, chunk: Chunk, rng: Generator, installs: int) -> None:
        """Fresh ids per install, one model, the farm's subnets, no engagement afterwards."""
        params = chunk.world.params
        # The farm's subnets are fixed for the whole run (drawn from the seed alone).
        farm_rng = default_rng([params.seed, 0xFA4])
        base = int(ipaddress.IPv4Network("114.120.0.0/13").network_address)
        subnets = base + 256 * farm_rng.integers(0, 2048, params.fraud.farm_subnets)
        ips = subnets[rng.integers(0, len(subnets), installs)] + rng.integers(2, 254, installs)
        model, build, version = catalog.FARM_MODEL
        agent = catalog.android_user_agent(version, model, f"{build}.190711.020", "124.0.6367.179")
        full = [
            {
                "platform": "android",
                "gaid": gaid,
                "android_id": aid,
                "ip": ip,
                "user_agent": agent,
                "os_version": version,
                "model": model,
                "locale": "en_US",
                "limit_ad_tracking": False,
            }
            for gaid, aid, ip in zip(
                uuids(rng, installs, upper=False),
                hex_ids(rng, installs),
                ip_strings(ips),
                strict=True,
            )
        ]
        gap = (np.exp(np.log(150.0) + 0.8 * rng.standard_normal(installs)) * 1000).astype(np.int64)
        _fake_installs(chunk, rng, full, FARM, gap + 15_000, country_code="ID")


class Bots:
    """Scripts that post clicks and installs from data centres with non-mobile agents."""

    name = "bot"

    def install_share(self, params: SimParams) -> float:
        """Configured bot share of all installs."""
        return params.fraud.bot_share

    def generate(self, chunk: Chunk, rng: Generator, installs: int) -> None:
        """Bot agents, data-centre IPs, plausible ids, a click 5-90 s before the install."""
        ips = ip_strings(random_ips(rng, catalog.DATACENTRE_PREFIXES, installs))
        agents = rng.integers(0, len(catalog.BOT_AGENTS), installs).tolist()
        ios = (rng.random(installs) < 0.4).tolist()
        ad_ids = uuids(rng, installs, upper=False)
        full: list[dict[str, Any]] = []
        for i in range(installs):
            dev: dict[str, Any] = {"platform": "ios" if ios[i] else "android"}
            dev["idfa" if ios[i] else "gaid"] = ad_ids[i].upper() if ios[i] else ad_ids[i]
            dev.update(
                ip=ips[i],
                user_agent=catalog.BOT_AGENTS[agents[i]],
                os_version="17.4.1" if ios[i] else "14",
                locale="en_US",
            )
            full.append(dev)
        _fake_installs(chunk, rng, full, BOT, rng.integers(5_000, 90_000, installs))


class SdkSpoofing:
    """Forged SDK traffic: impossible devices, fake purchases, sent server-to-server."""

    name = "sdk_spoofing"

    def install_share(self, params: SimParams) -> float:
        """Configured spoofing share of all installs."""
        return params.fraud.sdk_spoofing_share

    def generate(self, chunk: Chunk, rng: Generator, installs: int) -> None:
        """Impossible models/OS versions; some batches signed with a wrong secret."""
        params = chunk.world.params
        country = params.countries[0]
        ips = ip_strings(random_ips(rng, country.prefixes, installs))
        ios = (rng.random(installs) < 0.5).tolist()
        pick = rng.integers(0, 3, installs).tolist()
        ad_ids = uuids(rng, installs, upper=False)
        vendor = uuids(rng, installs, upper=True)
        full: list[dict[str, Any]] = []
        for i in range(installs):
            if ios[i]:
                model, version = catalog.IMPOSSIBLE_IOS[pick[i]]
                dev: dict[str, Any] = {"platform": "ios", "idfa": ad_ids[i].upper()}
                dev["idfv"] = vendor[i]
                agent = catalog.ios_user_agent(version)
            else:
                model, version = catalog.IMPOSSIBLE_ANDROID[pick[i]]
                dev = {"platform": "android", "gaid": ad_ids[i], "android_id": vendor[i][:16]}
                agent = catalog.browser_user_agent(version, model, "124.0.6367.179")
            dev.update(ip=ips[i], user_agent=agent, os_version=version, model=model)
            dev.update(locale=country.locales[0], limit_ad_tracking=False)
            full.append(dev)
        bad = rng.random(installs) < params.fraud.spoof_bad_signature_share
        channel = np.where(bad, S2S_BAD_SIGNATURE, SDK).astype(np.int8)
        gap = ctit_ms(rng, params.ctit, installs)  # spoofers copy a genuine time-to-install
        rows, _, install_ts = _fake_installs(
            chunk, rng, full, SPOOFING, gap, channel, country_code=country.code
        )
        # Fake engagement: an open and a few purchases within three days, same channel.
        buys = rng.poisson(1.5, installs)
        owner = np.repeat(np.arange(installs), buys)
        world_end = chunk.world.end_ms
        for kind, who, delay in (
            (OPEN, np.arange(installs), rng.integers(HOUR_MS, DAY_MS, installs)),
            (EVENT, owner, rng.integers(HOUR_MS, 3 * DAY_MS, len(owner))),
        ):
            ts = install_ts[who] + delay
            keep = ts < world_end
            who = who[keep]
            chunk.add_events(
                ts=ts[keep],
                kind=kind,
                dev=rows[who],
                channel=channel[who],
                name=PURCHASE if kind == EVENT else 0,
                revenue=rng.choice([0.99, 4.99, 9.99], len(who)) if kind == EVENT else np.nan,
            )
