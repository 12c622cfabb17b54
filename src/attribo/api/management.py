"""Management endpoints: apps, tracking links, API keys and the listings the dashboard shows."""

from __future__ import annotations

from typing import Annotated, TypeVar

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from attribo.api.auth import audit, readable_app, require_app_scope, require_key
from attribo.attribution.settings import HOUR_MS, settings_from_mapping
from attribo.collector.http import HTTPError, bad_field, json_response, read_body
from attribo.config import Settings
from attribo.control import AppExists, AppInfo, ControlPlane, KeyInfo, LinkInfo, UnknownApp
from attribo.control.keys import Role, display_prefix
from attribo.control.listing import list_keys, list_links
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


class KeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /v1/keys` body: analyst and ingest keys belong to one app."""

    role: Role
    app_id: AppId | None = None


def _decoded(body: bytes, kind: type[T]) -> T:
    result = decode_json(body, kind)
    if isinstance(result, FieldError):
        raise HTTPError(400, "invalid_request", [result])
    return result


def _windows_hours(app: AppInfo) -> dict[str, float] | None:
    """The app's effective attribution windows in hours (defaults where unset)."""
    try:
        windows = settings_from_mapping(app.settings.get("attribution") or {}).windows
    except (ValueError, TypeError):
        return None
    return {
        "click_hours": windows.click_ms / HOUR_MS,
        "view_hours": windows.view_ms / HOUR_MS,
        "fingerprint_hours": windows.fingerprint_ms / HOUR_MS,
    }


def app_json(app: AppInfo) -> dict[str, object]:
    """An app as listed: never its signing secret."""
    return {
        "app_id": app.app_id,
        "name": app.name,
        "store_urls": app.store_urls,
        "settings": app.settings,
        "windows": _windows_hours(app),
    }


def link_json(link: LinkInfo, base: str) -> dict[str, object]:
    """A link with its click and impression URLs on this server."""
    return {
        "link_id": link.link_id,
        "app_id": link.app_id,
        "network": link.network,
        "campaign": link.campaign,
        "adset": link.adset,
        "ad": link.ad,
        "retargeting": link.retargeting,
        "deep_link": link.deep_link,
        "created_at": link.created_at.isoformat(),
        "click_url": f"{base}/c/{link.link_id}",
        "impression_url": f"{base}/i/{link.link_id}",
    }


def _only_params(request: Request, *names: str) -> None:
    """400 for a query parameter the listing does not take (a typo must not widen a list)."""
    for name in request.query_params:
        if name not in names:
            raise bad_field(name, f"unknown parameter; expected {', '.join(names) or 'none'}")


def _reaches(key: KeyInfo, app_id: str) -> bool:
    return (key.role == "admin" and key.app_id is None) or key.app_id == app_id


def management_routes(settings: Settings, control: ControlPlane) -> list[Route]:
    """Routes for `/v1/apps`, `/v1/links` and `/v1/keys`."""
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

    async def get_apps(request: Request) -> Response:
        key = require_key(control, request, "admin", "analyst")
        _only_params(request)
        apps = [a for a in control.list_apps() if _reaches(key, a.app_id)]
        return json_response({"apps": [app_json(a) for a in apps]})

    async def get_links(request: Request) -> Response:
        app_id = readable_app(control, request)
        _only_params(request, "app_id")
        if control.get_app(app_id) is None:
            raise bad_field("app_id", f"no app {app_id!r}", 404, "not_found")
        base = str(request.base_url).rstrip("/")
        links = list_links(control._session, app_id)
        return json_response({"links": [link_json(link, base) for link in links]})

    async def get_keys(request: Request) -> Response:
        key = require_key(control, request, "admin")
        _only_params(request, "app_id")
        app_id = request.query_params.get("app_id") or key.app_id
        if app_id is not None:
            require_app_scope(key, app_id)
        rows = list_keys(control._session, app_id)
        return json_response(
            {
                "keys": [
                    {
                        "prefix": k.prefix,
                        "role": k.role,
                        "app_id": k.app_id,
                        "created_at": k.created_at.isoformat(),
                        "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
                    }
                    for k in rows
                ]
            }
        )

    async def create_key(request: Request) -> Response:
        key = require_key(control, request, "admin")
        body = _decoded(await read_body(request, limit), KeyCreate)
        if key.app_id is not None:
            # An app's admin makes keys for that app only, never installation-wide ones.
            if body.app_id is None:
                raise bad_field(
                    "app_id", f"this key creates keys for {key.app_id!r} only", 403, "forbidden"
                )
            require_app_scope(key, body.app_id)
        if body.app_id is None and body.role != "admin":
            raise bad_field("app_id", f"{body.role} keys belong to one app: app_id is required")
        try:
            created = control.create_key(body.role, body.app_id)
        except UnknownApp:
            raise bad_field("app_id", f"no app {body.app_id!r}", 404, "not_found") from None
        prefix = display_prefix(created)
        audit(
            control,
            request,
            "key.create",
            app_id=body.app_id,
            target_id=prefix,
            details={"role": body.role, "via": "api"},
        )
        answer = {"key": created, "prefix": prefix, "role": body.role, "app_id": body.app_id}
        return json_response(answer, 201)

    async def keys(request: Request) -> Response:
        return await (create_key if request.method == "POST" else get_keys)(request)

    async def apps(request: Request) -> Response:
        return await (create_app if request.method == "POST" else get_apps)(request)

    async def links(request: Request) -> Response:
        return await (create_link if request.method == "POST" else get_links)(request)

    return [
        Route("/v1/apps", apps, methods=["GET", "POST"]),
        Route("/v1/links", links, methods=["GET", "POST"]),
        Route("/v1/keys", keys, methods=["GET", "POST"]),
    ]
