"""Simulation parameters: frozen dataclasses with documented defaults, overridable from TOML.

Every default is documented in `src/attribo/sim/README.md` (the table there is the reference);
the field comments here say what each number means. A TOML file overrides any field: top-level
keys for `SimParams`, tables `[ctit]`, `[retention]`, `[monetisation]`, `[fraud]` for the nested
groups, and `[networks.<name>]` / `[countries.<code>]` tables for catalogue entries.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from attribo.sim.catalog import COUNTRIES, NETWORKS, CountrySpec, NetworkSpec


@dataclass(frozen=True, slots=True)
class CtitParams:
    """Click-to-install time: floor + log-normal, truncated at the click window."""

    # Fitted so that 75 % of click-through installs come within 1 h and 94 % within 24 h.
    mu: float = 5.575  # log-seconds location of the log-normal part
    sigma: float = 4.57  # log-seconds scale of the log-normal part
    floor_s: float = 15.0  # nobody downloads and opens an app faster than this
    max_s: float = 7 * 86_400.0  # truncation: the 7-day click window of attribution rule 1
    view_max_s: float = 86_400.0  # view-through installs come within the 24 h view window


@dataclass(frozen=True, slots=True)
class RetentionParams:
    """Retention: share of installs active on day k is d1 * k**-decay (clipped at 1)."""

    d1: float = 0.37  # day-1 retention
    decay: float = 0.52  # power-law exponent: D7 ≈ 0.135, D30 ≈ 0.063
    engagement_shape: float = 2.0  # Gamma shape of per-user engagement (mean 1); lower = spikier
    day0_extra_opens: float = 0.8  # Poisson mean of opens on day 0 besides the install session
    extra_opens: float = 0.5  # Poisson mean of extra opens on an active day (first one is sure)
    tutorial_share: float = 0.6  # share of users completing the tutorial on day 0
    level_ups_per_session: float = 0.35  # Poisson mean of `level_up` events per session
    user_id_share: float = 0.45  # share of users who sign in (their events carry `user_id`)


@dataclass(frozen=True, slots=True)
class MonetisationParams:
    """Purchases: a small payer share with heavy-tailed (log-normal) spend."""

    payer_share: float = 0.035  # share of users who ever pay (scaled by engagement)
    spend_median_usd: float = 4.0  # median typical price a payer pays
    spend_sigma: float = 1.1  # log-normal sigma of the payer's typical price (whales)
    purchases_per_active_day: float = 0.35  # Poisson mean after the first purchase
    s2s_share: float = 0.3  # share of purchases sent server-to-server (validated, signed)


@dataclass(frozen=True, slots=True)
class FraudParams:
    """Fraud mix; install shares are of all installs, overlay shares of genuine installs."""

    device_farm_share: float = 0.015  # installs from device farms
    bot_share: float = 0.008  # installs from bots (non-mobile agents)
    sdk_spoofing_share: float = 0.006  # spoofed installs (impossible device parameters)
    spoof_bad_signature_share: float = 0.5  # spoofed installs sent S2S with a wrong signature
    click_injection_share: float = 0.03  # Android genuine installs hit by an injected click
    click_flooding_share: float = 0.08  # organic installs that a flood click precedes
    flood_clicks_per_hit: float = 25.0  # non-converting flood clicks per flooded install
    farm_subnets: int = 3  # /24 subnets a farm works from
    network: str = "clickhub_media"  # the fraudulent source that gets the credit


@dataclass(frozen=True, slots=True)
class SimParams:
    """Everything that shapes a simulated month of traffic."""

    seed: int = 7  # one seed drives every random draw
    installs: int = 100_000  # installs of all kinds (genuine, reinstalls, fraud)
    days: int = 30  # length of the simulated period in days
    start: date | None = None  # first day (UTC); None = today - days, so the period is past
    app_ids: tuple[str, ...] = ("demo.puzzle", "demo.runner")  # apps installs are spread over
    organic_share: float = 0.35  # genuine installs with no ad touch
    view_through_share: float = 0.08  # paid installs caused by an impression, not a click
    extra_touches_mean: float = 1.2  # Poisson mean of earlier (assist) touches per paid install
    noise_touches_per_install: float = 1.0  # non-converting clicks/impressions per install
    reinstall_share: float = 0.03  # genuine installs whose device installs again later
    reengagement_share: float = 0.04  # installs later re-engaged by a retargeting click
    weekend_lift: float = 1.15  # installs on Saturdays and Sundays relative to weekdays
    touch_ip_same_share: float = 0.9  # clicks from the same IP as the install (fingerprint)
    cgnat_share: float = 0.55  # users behind carrier NAT (share a public IP)
    users_per_nat_ip: float = 4.0  # mean users sharing one carrier-NAT IP over the period
    att_consent_share: float = 0.30  # iOS users who allow tracking (IDFA present)
    lat_share: float = 0.07  # Android users with limit-ad-tracking (no usable gaid)
    lat_zero_gaid_share: float = 0.5  # of those, share that still send an all-zero gaid
    chunk_installs: int = 20_000  # installs generated per chunk (memory bound, not output)
    # Scenario modules run on every chunk, in this order (see attribo.sim.scenarios).
    scenarios: tuple[str, ...] = (
        "genuine",
        "noise",
        "click_injection",
        "click_flooding",
        "device_farm",
        "bot",
        "sdk_spoofing",
    )
    ctit: CtitParams = field(default_factory=CtitParams)
    retention: RetentionParams = field(default_factory=RetentionParams)
    monetisation: MonetisationParams = field(default_factory=MonetisationParams)
    fraud: FraudParams = field(default_factory=FraudParams)
    networks: tuple[NetworkSpec, ...] = NETWORKS
    countries: tuple[CountrySpec, ...] = COUNTRIES

    def start_date(self) -> date:
        """The first simulated day: `start`, or today (UTC) minus `days`."""
        if self.start is not None:
            return self.start
        return datetime.now(UTC).date() - timedelta(days=self.days)

    def start_ms(self) -> int:
        """Epoch milliseconds of the first simulated day's midnight UTC."""
        day = self.start_date()
        return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1000

    def validate(self) -> SimParams:
        """Fail loudly on values that cannot make a simulation."""
        if self.installs < 0 or self.days < 1:
            raise ValueError("installs must be >= 0 and days >= 1")
        if not self.app_ids or len(set(self.app_ids)) != len(self.app_ids):
            raise ValueError("app_ids must be non-empty and distinct")
        if any(not a or len(a) > 64 for a in self.app_ids):
            raise ValueError("each app id must be 1-64 characters")
        fraud = self.fraud
        if fraud.device_farm_share + fraud.bot_share + fraud.sdk_spoofing_share >= 1:
            raise ValueError("fraud install shares must sum below 1")
        if not any(n.name == fraud.network for n in self.networks):
            raise ValueError(f"fraud.network {fraud.network!r} is not a configured network")
        from attribo.sim.scenarios import build_scenarios  # scenarios import this module

        build_scenarios(self.scenarios)
        if self.chunk_installs < 100:
            raise ValueError("chunk_installs must be at least 100")
        return self


def _merge(obj: Any, table: dict[str, Any], where: str) -> Any:
    """A copy of dataclass `obj` with the TOML table's keys replaced (unknown keys fail)."""
    names = {f.name: f for f in fields(obj)}
    changes: dict[str, Any] = {}
    for key, value in table.items():
        if key not in names:
            raise ValueError(f"unknown simulation parameter {where}{key}")
        current = getattr(obj, key)
        if key in ("networks", "countries"):
            changes[key] = _merge_catalogue(current, value, f"{where}{key}.")
        elif is_dataclass(current):
            changes[key] = _merge(current, value, f"{where}{key}.")
        elif key == "start":
            changes[key] = value if isinstance(value, date) else date.fromisoformat(str(value))
        elif key in ("app_ids", "scenarios"):
            changes[key] = tuple(str(v) for v in value)
        elif isinstance(current, float) and isinstance(value, int):
            changes[key] = float(value)
        else:
            changes[key] = value
    return replace(obj, **changes)


def _merge_catalogue(entries: tuple[Any, ...], table: dict[str, Any], where: str) -> tuple:
    """Override catalogue entries by name (`[networks.meta] cpi_usd = 3.1`)."""
    by_name = {_entry_name(e): e for e in entries}
    for name in table:
        if name not in by_name:
            raise ValueError(f"unknown catalogue entry {where}{name}")
    return tuple(
        _merge(e, table[_entry_name(e)], f"{where}{_entry_name(e)}.")
        if _entry_name(e) in table
        else e
        for e in entries
    )


def _entry_name(entry: Any) -> str:
    return str(getattr(entry, "name", None) or entry.code)


def load_params(path: Path | None = None, **overrides: Any) -> SimParams:
    """Defaults, then the TOML file, then keyword overrides (None values are ignored)."""
    params = SimParams()
    if path is not None:
        with open(path, "rb") as handle:
            params = _merge(params, tomllib.load(handle), "")
    given = {k: v for k, v in overrides.items() if v is not None}
    if given:
        params = _merge(params, given, "")
    return params.validate()
