"""Models by name, so a report or config can say `model=markov&order=2`."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from attribo.attribution.multitouch.heuristic import FirstTouch, LastTouch, Linear, PositionBased
from attribo.attribution.multitouch.markov import Markov
from attribo.attribution.multitouch.result import AttributionModel
from attribo.attribution.multitouch.shapley import Shapley
from attribo.attribution.multitouch.time_decay import TimeDecay

MODELS: dict[str, type[AttributionModel]] = {
    model.lookup_name: model
    for model in (FirstTouch, LastTouch, Linear, TimeDecay, PositionBased, Markov, Shapley)
}


def model_settings(name: str) -> dict[str, Any]:
    """Setting names of a model with their defaults (what the report endpoint may accept)."""
    return {field.name: field.default for field in fields(_model_class(name))}  # type: ignore[arg-type]


def get_model(name: str, **settings: Any) -> AttributionModel:
    """A configured model; unknown names and settings fail with the accepted ones listed."""
    model = _model_class(name)
    unknown = set(settings) - set(model_settings(name))
    if unknown:
        accepted = ", ".join(model_settings(name)) or "none"
        raise ValueError(
            f"unknown setting(s) for {name}: {', '.join(sorted(unknown))}; accepted: {accepted}"
        )
    return model(**settings)


def _model_class(name: str) -> type[AttributionModel]:
    """Look a model up by `lookup_name`."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}") from None
