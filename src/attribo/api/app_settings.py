"""`PUT /v1/apps/{app_id}/settings`: attribution windows, the SKAN schema, postback options.

The body replaces the app's settings. Each part is checked before anything is stored, and
attribution settings apply to the live attributor at once: installs decided before the change
keep the decision they got (a replay with the new settings shows what would differ).
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from attribo.api.auth import audit, require_app_scope, require_key
from attribo.attribution.live import LiveAttributor
from attribo.attribution.settings import settings_from_mapping
from attribo.attribution.skan.schema import SETTINGS_KEY, load_schema
from attribo.collector.http import HTTPError, bad_field, json_response, read_body
from attribo.control import ControlPlane
from attribo.events.validate import FieldError

_KNOWN = ("attribution", SETTINGS_KEY, "allow_private_postbacks")


def app_settings_routes(
    control: ControlPlane, attributor: LiveAttributor, max_body: int
) -> list[Route]:
    """The settings route."""

    async def put_settings(request: Request) -> Response:
        key = require_key(control, request, "admin")
        app_id = request.path_params["app_id"]
        require_app_scope(key, app_id, "app_id")
        if control.get_app(app_id) is None:
            raise HTTPError(404, "not_found", [FieldError("app_id", "no such app")])
        try:
            body: Any = msgspec.json.decode(await read_body(request, max_body))
        except msgspec.DecodeError:
            raise bad_field("body", "malformed JSON") from None
        if not isinstance(body, dict):
            raise bad_field("body", "expected a JSON object")
        for name in body:
            if name not in _KNOWN:
                raise bad_field(name, f"unknown setting; expected one of {', '.join(_KNOWN)}")
        try:
            rules = settings_from_mapping(body.get("attribution") or {})
        except (ValueError, TypeError) as exc:
            raise bad_field("attribution", str(exc)) from None
        if SETTINGS_KEY in body:
            schema = load_schema(body[SETTINGS_KEY])
            if isinstance(schema, FieldError):
                raise bad_field(f"{SETTINGS_KEY}.{schema.field}", schema.message)
        if not isinstance(body.get("allow_private_postbacks", False), bool):
            raise bad_field("allow_private_postbacks", "expected true or false")
        app = control.set_app_settings(app_id, body)
        attributor.set_settings(app_id, rules)
        audit(control, request, "settings.update", app_id=app_id, details={"keys": sorted(body)})
        return json_response({"app_id": app_id, "settings": app.settings})

    return [Route("/v1/apps/{app_id}/settings", put_settings, methods=["PUT"])]
