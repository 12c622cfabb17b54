"""Multi-touch attribution: share conversions and value among the channels of journeys."""

from attribo.attribution.multitouch.heuristic import FirstTouch, LastTouch, Linear, PositionBased
from attribo.attribution.multitouch.journeys import Journeys, UserJourney
from attribo.attribution.multitouch.markov import Markov, removal_effects
from attribo.attribution.multitouch.registry import MODELS, get_model, model_settings
from attribo.attribution.multitouch.result import Attribution, AttributionModel
from attribo.attribution.multitouch.shapley import Shapley
from attribo.attribution.multitouch.time_decay import TimeDecay

__all__ = [
    "MODELS",
    "Attribution",
    "AttributionModel",
    "FirstTouch",
    "Journeys",
    "LastTouch",
    "Linear",
    "Markov",
    "PositionBased",
    "Shapley",
    "TimeDecay",
    "UserJourney",
    "get_model",
    "model_settings",
    "removal_effects",
]
