"""Attribution settings (rules v1 defaults): windows per app, overridable per network."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True)
class Windows:
    """Look-back windows in milliseconds."""

    click_ms: int = 7 * DAY_MS  # rule 1: clicks up to 7 days before the install
    view_ms: int = DAY_MS  # rule 1: impressions up to 24 hours before
    fingerprint_ms: int = DAY_MS  # rule 2: fingerprint matches only within 24 hours


@dataclass(frozen=True)
class AttributionSettings:
    """Every number of rules v1; `networks` overrides the windows for one network."""

    windows: Windows = field(default_factory=Windows)
    reattribution_ms: int = 90 * DAY_MS  # rule 5
    reengagement_click_ms: int = DAY_MS  # rule 7: open within 24 h of a retargeting click
    reengagement_duration_ms: int = 30 * DAY_MS  # rule 7: credited for 30 days
    networks: Mapping[str, Windows] = field(default_factory=dict)

    def windows_for(self, network: str | None) -> Windows:
        """The windows that apply to touches of `network`."""
        return self.networks.get(network or "", self.windows)

    @property
    def max_lookback_ms(self) -> int:
        """The longest any touch can stay a candidate."""
        every = [self.windows, *self.networks.values()]
        return max(max(w.click_ms, w.view_ms, w.fingerprint_ms) for w in every)


_WINDOW_KEYS = {f"{f.name.removesuffix('_ms')}_hours": f.name for f in fields(Windows)}


def _windows(base: Windows, table: Mapping[str, Any], where: str) -> Windows:
    unknown = set(table) - set(_WINDOW_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown setting(s) {sorted(unknown)}")
    changes = {}
    for key, value in table.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{where}.{key}: expected a number of hours >= 0")
        changes[_WINDOW_KEYS[key]] = round(value * HOUR_MS)
    return replace(base, **changes)


def settings_from_mapping(data: Mapping[str, Any]) -> AttributionSettings:
    """Settings from a mapping such as `{"click_hours": 168, "networks": {"meta": {...}}}`."""
    top = {k: v for k, v in data.items() if k in _WINDOW_KEYS}
    rest = {k: v for k, v in data.items() if k not in _WINDOW_KEYS}
    windows = _windows(Windows(), top, "attribution")
    settings = AttributionSettings(windows=windows)
    for key, value in rest.items():
        if key == "networks":
            if not isinstance(value, Mapping):
                raise ValueError("attribution.networks: expected a table per network")
            nets = {name: _windows(windows, t, f"networks.{name}") for name, t in value.items()}
            settings = replace(settings, networks=nets)
        elif key == "reattribution_days":
            settings = replace(settings, reattribution_ms=round(float(value) * DAY_MS))
        elif key == "reengagement_duration_days":
            settings = replace(settings, reengagement_duration_ms=round(float(value) * DAY_MS))
        else:
            raise ValueError(f"attribution: unknown setting {key!r}")
    return settings


def load_attribution_settings(path: Path | None) -> AttributionSettings:
    """Defaults, or the `[attribution]` table (or the whole file) of a TOML file."""
    if path is None:
        return AttributionSettings()
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    return settings_from_mapping(data.get("attribution", data))
