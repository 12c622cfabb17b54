"""Scenario modules over the core model; `SimParams.scenarios` names which run, in order.

A new scenario (spend-response saturation, geo holdouts, bid markets) is a class with `name`,
`install_share(params)` and `generate(chunk, rng, installs)`, registered in `SCENARIOS`.
"""

from __future__ import annotations

from attribo.sim.scenarios.base import Scenario
from attribo.sim.scenarios.fraud_installs import Bots, DeviceFarm, SdkSpoofing
from attribo.sim.scenarios.fraud_touches import ClickFlooding, ClickInjection
from attribo.sim.scenarios.genuine import Genuine
from attribo.sim.scenarios.noise import NoiseTouches

SCENARIOS: dict[str, type] = {
    cls.name: cls
    for cls in (Genuine, NoiseTouches, ClickInjection, ClickFlooding, DeviceFarm, Bots, SdkSpoofing)
}


def build_scenarios(names: tuple[str, ...]) -> list[Scenario]:
    """Instantiate the named scenarios, failing on an unknown name."""
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenarios {unknown}; known: {sorted(SCENARIOS)}")
    return [SCENARIOS[n]() for n in names]


__all__ = ["SCENARIOS", "Scenario", "build_scenarios"]
