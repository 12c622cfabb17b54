"""Management endpoints: apps and tracking links (admin keys)."""

from __future__ import annotations

from typing import Annotated, TypeVar

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from attribo.api.auth import audit, require_app_scope, require_key
from attribo.collector.http import HTTPError, bad_field, json_response, read_body
from attribo.config import Settings
from attribo.control import AppExists, ControlPlane
from attribo.events.validate import FieldError, decode_json

AppId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Url = Annotated[str, Meta(max_length=2048, pattern=r"^https?://[^\s]+$")]
Label = Annotated[str, Meta(min_length=1, max_length=256)]
T = TypeVar("T")


class StoreUrls(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Where a click on a tracking link sends the user, per platform."""

    ios: Url | None = None
    android: Url | None = None


class AppCreate(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /v1/apps` body."""

    app_id: AppId
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    store_urls: StoreUrls = msgspec.field(default_factory=StoreUrls)


class LinkCreate(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /v1/links` body."""

    app_id: AppId
    network: Annotated[str, Meta(min_length=1, max_length=64)]
    campaign: Label | None = None
    adset: Label | None = None
    ad: Label | None = None
    retargeting: bool = False
    deep_link: Annotated[str, Meta(max_length=2048)] | None = None


def _decoded(body: bytes, kind: type[T]) -> T:
    result = decode_json(body, kind)
    if isinstance(result, FieldError):
        raise HTTPError(400, "invalid_request", [result])
    return result


def management_routes(settings: Settings, control: ControlPlane) -> list[Route]:
    """Routes for `/v1/apps` and `/v1/links`."""
    limit = settings.max_body_bytes

    async def create_app(request: Request) -> Response:
        require_key(control, request, "admin")
        body = _decoded(await read_body(request, limit), AppCreate)
        urls = msgspec.structs.asdict(body.store_urls)
        try:
            created = control.create_app(
                body.app_id, body.name, {k: v for k, v in urls.items() if v}
            )
        except AppExists:
            raise bad_field(
                "app_id", f"app {body.app_id!r} already exists", 409, "conflict"
            ) from None
        audit(control, request, "app.create", app_id=created.app_id, target_id=created.app_id)
        return json_response(
            {
                "app_id": created.app_id,
                "ingest_key": created.ingest_key,
                "signing_secret": created.signing_secret,
            },
            201,
        )

    async def create_link(request: Request) -> Response:
        key = require_key(control, request, "admin")
        body = _decoded(await read_body(request, limit), LinkCreate)
        require_app_scope(key, body.app_id)
        if control.get_app(body.app_id) is None:
            raise bad_field("app_id", f"no app {body.app_id!r}", 404, "not_found")
        link = control.create_link(
            body.app_id,
            body.network,
            campaign=body.campaign,
            adset=body.adset,
            ad=body.ad,
            retargeting=body.retargeting,
            deep_link=body.deep_link,
        )
        audit(
            control,
            request,
            "link.create",
            app_id=body.app_id,
            target_id=link.link_id,
            details={"network": body.network, "campaign": body.campaign},
        )
        base = str(request.base_url).rstrip("/")
        return json_response(
            {
                "link_id": link.link_id,
                "click_url": f"{base}/c/{link.link_id}",
                "impression_url": f"{base}/i/{link.link_id}",
            },
            201,
        )

    return [
        Route("/v1/apps", create_app, methods=["POST"]),
        Route("/v1/links", create_link, methods=["POST"]),
    ]
