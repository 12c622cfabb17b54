"""Role and app scope checks for the management and reporting API."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from attribo.collector.http import bad_field, bearer_key
from attribo.control import ControlPlane, KeyInfo


def require_key(control: ControlPlane, request: Request, *roles: str) -> KeyInfo:
    """The caller's key if its role is one of `roles`; 401 unknown, 403 wrong role."""
    info = control.resolve_key(bearer_key(request))
    if info is None:
        raise bad_field("Authorization", "unknown or revoked API key", 401, "unauthorized")
    if info.role not in roles:
        raise bad_field(
            "Authorization", f"needs a key with role {' or '.join(roles)}", 403, "forbidden"
        )
    return info


def require_app_scope(info: KeyInfo, app_id: str, field: str = "app_id") -> None:
    """403 unless the key reaches `app_id` (admin keys reach every app)."""
    if info.role == "admin" and info.app_id is None:
        return
    if info.app_id != app_id:
        raise bad_field(field, f"this key has no access to app {app_id!r}", 403, "forbidden")


def readable_app(control: ControlPlane, request: Request) -> str:
    """The `app_id` parameter of a read endpoint, once the key may read it (admin, analyst)."""
    key = require_key(control, request, "admin", "analyst")
    app_id = request.query_params.get("app_id")
    if not app_id:
        raise bad_field("app_id", "app_id is required")
    require_app_scope(key, app_id)
    return app_id


def audit(
    control: ControlPlane,
    request: Request,
    action: str,
    *,
    app_id: str | None = None,
    target_id: str | int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Record a management action that succeeded, with the caller's key prefix and role."""
    key = bearer_key(request)
    info = control.resolve_key(key)
    control.audit.record(
        action,
        actor_key=key,
        actor_role=info.role if info else None,
        app_id=app_id,
        target_id=target_id,
        details=details,
    )
