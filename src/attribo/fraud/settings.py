"""Fraud settings: every threshold of every rule, and where scores turn into verdicts."""

from __future__ import annotations

import msgspec


class ClickInjectionSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Nobody downloads and opens an app within seconds of the click."""

    min_ctit_s: float = 10.0


class ClickFloodingSettings(msgspec.Struct, frozen=True, kw_only=True):
    """A source's CTIT distribution against the priors, its clicks per install, bursts."""

    min_source_installs: int = 50  # fewer say little about a distribution: use the network
    prior_within_1h: float = 0.75  # genuine installs within 1 h of the click
    prior_within_24h: float = 0.94  # and within 24 h
    max_share_of_prior: float = 0.5  # flat: under half the expected share within 1 h
    max_long_tail_ratio: float = 2.0  # or of installs after 1 h, 2x the share after 24 h
    min_late_installs: int = 20  # installs after 1 h needed to judge the tail
    max_clicks_per_install: float = 20.0
    burst_window_s: float = 3600.0
    max_burst_clicks: int = 5  # clicks of one device from one source within the window


class InstallFarmSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Many installs from one IP or /24 with no engagement afterwards."""

    max_installs_per_ip: int = 30  # carrier NAT puts a few dozen users behind one IP
    max_installs_per_subnet: int = 25
    min_subnet_idle_share: float = 0.8  # installs in the /24 with no event after them
    max_model_share: float = 0.25  # one model's share of an app's installs (with >= 200)
    min_installs_for_model_share: int = 200


class BotSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Installs need a mobile user agent and a possible device."""

    mobile_os: tuple[str, ...] = ("iOS", "iPadOS", "Android")


class SignatureSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Revenue sent server-to-server must carry a good HMAC signature."""

    require_signed_revenue: bool = False


class TimestampSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Clients cannot send events from the future."""

    max_future_s: float = 300.0


class FraudSettings(msgspec.Struct, frozen=True, kw_only=True):
    """All fraud settings of an app; scores of 0-100 map to verdicts at the two cut-offs."""

    click_injection: ClickInjectionSettings = ClickInjectionSettings()
    click_flooding: ClickFloodingSettings = ClickFloodingSettings()
    install_farm: InstallFarmSettings = InstallFarmSettings()
    bot: BotSettings = BotSettings()
    signature: SignatureSettings = SignatureSettings()
    timestamps: TimestampSettings = TimestampSettings()
    anonymous_ip: bool = True
    suspicious_at: float = 50.0
    rejected_at: float = 80.0
