"""`GET /v1/audit`: the audit log of management actions, newest first (admin keys only)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from attribo.api.auth import require_app_scope, require_key
from attribo.collector.http import bad_field, json_response
from attribo.control import AuditInfo, ControlPlane
from attribo.control.audit import LIST_LIMIT_MAX

DEFAULT_LIMIT: Final = 100
_SINCE_HELP: Final = (
    "since must be an ISO 8601 date or a time with a zone, e.g. 2026-11-25T08:00:00Z"
)


def audit_json(entry: AuditInfo) -> dict[str, object]:
    """The wire form of an audit-log entry."""
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor_prefix": entry.actor_prefix,
        "actor_role": entry.actor_role,
        "action": entry.action,
        "app_id": entry.app_id,
        "target_id": entry.target_id,
        "details": entry.details,
    }


def _since_param(raw: str | None) -> datetime | None:
    """The optional `since` parameter: a date (UTC midnight) or an aware time; 400 otherwise."""
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        since = datetime.fromisoformat(raw)
    except ValueError:
        raise bad_field("since", _SINCE_HELP) from None
    if since.tzinfo is None:
        raise bad_field("since", _SINCE_HELP)
    return since


def _limit_param(raw: str) -> int:
    """The optional `limit` parameter (1..1000), or 400 naming it."""
    if not raw.isdigit() or not 1 <= int(raw) <= LIST_LIMIT_MAX:
        raise bad_field("limit", f"limit must be an integer from 1 to {LIST_LIMIT_MAX}")
    return int(raw)


def audit_routes(control: ControlPlane) -> list[Route]:
    """The route for `GET /v1/audit?app_id=&since=&limit=`.

    Installation-wide admin keys read every entry (or one app's with `app_id`); admin keys
    scoped to an app read that app's entries only, with or without `app_id`.
    """

    async def list_audit(request: Request) -> Response:
        key = require_key(control, request, "admin")
        params = request.query_params
        app_id = params.get("app_id") or key.app_id
        if app_id is not None:
            require_app_scope(key, app_id)
        since = _since_param(params.get("since"))
        limit = _limit_param(params.get("limit", str(DEFAULT_LIMIT)))
        entries = control.audit.list(app_id=app_id, since=since, limit=limit)
        return json_response({"entries": [audit_json(e) for e in entries]})

    return [Route("/v1/audit", list_audit, methods=["GET"])]
