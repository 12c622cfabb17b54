"""What every multi-touch model returns, and the protocol a model satisfies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

from attribo.attribution.multitouch.journeys import FloatArray, Journeys


@dataclass(frozen=True, eq=False)
class Attribution:
    """Credit per channel; `conversions` and `values` sum to the journeys' totals."""

    model: str
    channels: tuple[str, ...]
    conversions: FloatArray
    values: FloatArray
    # Model-specific per-channel figures (e.g. Markov removal effects), aligned with channels.
    details: dict[str, FloatArray] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per channel, largest attributed conversions first."""
        order = np.argsort(-self.conversions, kind="stable")
        return [
            {
                "channel": self.channels[i],
                "conversions": float(self.conversions[i]),
                "value": float(self.values[i]),
                **{name: float(column[i]) for name, column in self.details.items()},
            }
            for i in order
        ]

    def as_dict(self, what: str = "conversions") -> dict[str, float]:
        """Channel → attributed conversions (or `what="values"`), handy for tests and logs."""
        column = self.conversions if what == "conversions" else self.values
        return {
            channel: float(credit) for channel, credit in zip(self.channels, column, strict=True)
        }


class AttributionModel(Protocol):
    """A configured model: its settings are constructor arguments; `attribute` is pure."""

    lookup_name: ClassVar[str]

    def attribute(self, journeys: Journeys) -> Attribution:
        """Share the journeys' conversions and value among channels."""
        ...
