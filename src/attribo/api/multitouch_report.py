"""`GET /v1/reports/multitouch?app_id=&model=&since=&until=&split=`: credit per channel.

Models: first_touch, last_touch, linear, time_decay (half_life_hours), position_based
(first_weight, last_weight), markov (order 1-3, removal effects), shapley. Model settings are
query parameters of the same name; conversions are installs, value their inherited revenue.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from attribo.api.auth import readable_app
from attribo.api.export import parse_time
from attribo.attribution.journeys_sql import load_journeys
from attribo.attribution.multitouch import MODELS, get_model, model_settings
from attribo.collector.http import bad_field, json_response
from attribo.control import ControlPlane
from attribo.store.base import Store

_RESERVED = {"app_id", "model", "since", "until", "split"}


def _typed(name: str, text: str, default: Any) -> Any:
    """A query parameter converted to the type of the setting's default."""
    try:
        if isinstance(default, bool):
            return text.lower() in ("1", "true", "yes")
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except ValueError:
        raise bad_field(name, f"expected a {type(default).__name__}") from None
    return text


def multitouch_routes(control: ControlPlane, store: Store) -> list[Route]:
    """The multi-touch report route."""

    async def report(request: Request) -> Response:
        app_id = readable_app(control, request)
        params = request.query_params
        name = params.get("model") or "linear"
        if name not in MODELS:
            raise bad_field("model", f"unknown model; expected one of {', '.join(sorted(MODELS))}")
        defaults = model_settings(name)
        chosen = {}
        for param, value in params.items():
            if param in _RESERVED:
                continue
            if param not in defaults:
                raise bad_field(param, f"not a setting of {name}: {', '.join(defaults) or 'none'}")
            chosen[param] = _typed(param, value, defaults[param])
        try:
            model = get_model(name, **chosen)
        except ValueError as exc:
            raise bad_field("model", str(exc)) from None
        since = parse_time("since", params.get("since"))
        until = parse_time("until", params.get("until"))
        split = params.get("split", "").lower() in ("1", "true", "yes")

        def compute() -> dict[str, Any]:
            journeys = load_journeys(store, app_id, since, until, split)
            result = model.attribute(journeys)
            return {
                "model": name,
                "settings": {**defaults, **chosen},
                "conversions": float(result.conversions.sum()),
                "value": float(result.values.sum()),
                "rows": result.rows(),
            }

        try:
            body = await run_in_threadpool(compute)
        except ValueError as exc:
            raise bad_field("model", str(exc)) from None
        return json_response(body)

    return [Route("/v1/reports/multitouch", report, methods=["GET"])]
