"""What a scenario is: a small module that adds devices, events and truth to a chunk."""

from __future__ import annotations

from typing import Protocol

from numpy.random import Generator

from attribo.sim.model import Chunk
from attribo.sim.params import SimParams


class Scenario(Protocol):
    """A piece of the simulated world; run on every chunk in the configured order."""

    name: str

    def install_share(self, params: SimParams) -> float:
        """Share of all installs this scenario creates (0 for overlays that only add touches)."""
        ...

    def generate(self, chunk: Chunk, rng: Generator, installs: int) -> None:
        """Add this scenario's `installs` installs (and any other events) to `chunk`."""
        ...
