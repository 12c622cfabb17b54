"""Management endpoints for outgoing postbacks: templates and the delivery log (admin keys)."""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from attribo.api.auth import audit, require_app_scope, require_key
from attribo.collector.http import HTTPError, bad_field, json_response, read_body
from attribo.control import ControlPlane, DeliveryInfo, PostbackTemplateInfo
from attribo.control.errors import UnknownApp
from attribo.control.postbacks import STATUSES
from attribo.events.validate import FieldError, decode_json
from attribo.postbacks import PostbackDispatcher, TemplateError

BODY_LIMIT: Final = 64 * 1024  # templates are small; no need for the event-sized limit
LIST_LIMIT_MAX: Final = 1000

AppId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


class TemplateCreate(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /v1/postbacks` body."""

    app_id: AppId
    network: Annotated[str, Meta(min_length=1, max_length=64)]
    event: Annotated[str, Meta(min_length=1, max_length=128)]
    url: Annotated[str, Meta(min_length=1, max_length=4096)]
    method: Literal["GET", "POST"] = "GET"
    body: Annotated[str, Meta(max_length=16384)] | None = None
    enabled: bool = True


def template_json(t: PostbackTemplateInfo) -> dict[str, object]:
    """The wire form of a template."""
    return {
        "id": t.id,
        "app_id": t.app_id,
        "network": t.network,
        "event": t.event,
        "url": t.url,
        "method": t.method,
        "body": t.body,
        "enabled": t.enabled,
        "created_at": t.created_at.isoformat(),
    }


def delivery_json(d: DeliveryInfo) -> dict[str, object]:
    """The wire form of a delivery-log row."""
    return {
        "id": d.id,
        "app_id": d.app_id,
        "template_id": d.template_id,
        "event_id": d.event_id,
        "dedup_key": d.dedup_key,
        "method": d.method,
        "url": d.url,
        "status": d.status,
        "attempts": d.attempts,
        "last_http_status": d.last_http_status,
        "last_error": d.last_error,
        "next_attempt_at": None if d.next_attempt_at is None else d.next_attempt_at.isoformat(),
        "created_at": d.created_at.isoformat(),
        "updated_at": d.updated_at.isoformat(),
    }


def _app_id_param(request: Request) -> str:
    """The required `app_id` query parameter, or 400 naming it."""
    app_id = request.query_params.get("app_id")
    if not app_id:
        raise bad_field("app_id", "query parameter app_id is required")
    return app_id


def _limit_param(request: Request) -> int:
    """The optional `limit` query parameter (1..1000, default 100)."""
    raw = request.query_params.get("limit", "100")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= LIST_LIMIT_MAX:
        raise bad_field("limit", f"limit must be an integer from 1 to {LIST_LIMIT_MAX}")
    return int(raw)


def postback_routes(control: ControlPlane, dispatcher: PostbackDispatcher) -> list[Route]:
    """Routes for `/v1/postbacks` (templates) and `/v1/postbacks/deliveries` (delivery log)."""
    repo = control.postbacks

    async def create_template(request: Request) -> Response:
        key = require_key(control, request, "admin")
        decoded = decode_json(await read_body(request, BODY_LIMIT), TemplateCreate)
        if isinstance(decoded, FieldError):
            raise HTTPError(400, "invalid_request", [decoded])
        require_app_scope(key, decoded.app_id)
        try:
            created = await dispatcher.create_template(
                decoded.app_id,
                decoded.network,
                decoded.event,
                decoded.url,
                decoded.method,
                decoded.body,
                decoded.enabled,
            )
        except TemplateError as exc:
            raise bad_field(exc.field, exc.message) from None
        except UnknownApp:
            raise bad_field("app_id", f"no app {decoded.app_id!r}", 404, "not_found") from None
        audit(
            control,
            request,
            "postback.create",
            app_id=decoded.app_id,
            target_id=created.id,
            details={"network": decoded.network, "event": decoded.event},
        )
        return json_response(template_json(created), 201)

    async def list_templates(request: Request) -> Response:
        key = require_key(control, request, "admin")
        app_id = _app_id_param(request)
        require_app_scope(key, app_id)
        return json_response({"postbacks": [template_json(t) for t in repo.list_templates(app_id)]})

    async def delete_template(request: Request) -> Response:
        key = require_key(control, request, "admin")
        template_id: int = request.path_params["template_id"]
        # Ids are 64-bit in the database: a larger number names no template (not a 500).
        template = repo.get_template(template_id) if template_id < 2**63 else None
        # Out-of-scope templates answer 404 like missing ones: ids must not leak across tenants.
        if template is None or not _reaches(key.role, key.app_id, template.app_id):
            raise bad_field("template_id", "no such postback template", 404, "not_found")
        repo.delete_template(template_id)
        audit(control, request, "postback.delete", app_id=template.app_id, target_id=template_id)
        return Response(status_code=204)

    async def list_deliveries(request: Request) -> Response:
        key = require_key(control, request, "admin")
        app_id = _app_id_param(request)
        require_app_scope(key, app_id)
        status = request.query_params.get("status") or None
        if status is not None and status not in STATUSES:
            raise bad_field("status", f"status must be one of {', '.join(STATUSES)}")
        rows = repo.list_deliveries(app_id, status, _limit_param(request))
        return json_response({"deliveries": [delivery_json(d) for d in rows]})

    async def templates(request: Request) -> Response:
        if request.method == "POST":
            return await create_template(request)
        return await list_templates(request)

    return [
        Route("/v1/postbacks", templates, methods=["GET", "POST"]),
        Route("/v1/postbacks/deliveries", list_deliveries, methods=["GET"]),
        Route("/v1/postbacks/{template_id:int}", delete_template, methods=["DELETE"]),
    ]


def _reaches(role: str, key_app: str | None, app_id: str) -> bool:
    """Whether an admin key (global or app-scoped) reaches `app_id`."""
    return role == "admin" and (key_app is None or key_app == app_id)
