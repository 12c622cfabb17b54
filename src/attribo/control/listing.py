"""Read-only listings for the dashboard's settings page: links of an app, API keys.

Kept apart from `repository.py` so the write paths stay small; these queries take the
control plane's session factory and never return a key's hash or plaintext.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from attribo.control.models import ApiKey, Link
from attribo.control.repository import LinkInfo, _link_info


@dataclass(frozen=True, slots=True)
class KeyListing:
    """What a settings page may show about a key: its display prefix, never the key."""

    prefix: str
    role: str
    app_id: str | None
    created_at: datetime
    revoked_at: datetime | None


def list_links(sessions: Callable[[], Session], app_id: str, limit: int = 1000) -> list[LinkInfo]:
    """The app's tracking links, newest first."""
    with sessions() as session:
        rows = session.scalars(
            select(Link)
            .where(Link.app_id == app_id)
            .order_by(Link.created_at.desc(), Link.link_id)
            .limit(limit)
        )
        return [_link_info(row) for row in rows]


def list_keys(sessions: Callable[[], Session], app_id: str | None = None) -> list[KeyListing]:
    """Keys scoped to `app_id` (every key when None), newest first."""
    query = select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    if app_id is not None:
        query = query.where(ApiKey.app_id == app_id)
    with sessions() as session:
        return [
            KeyListing(row.prefix, row.role, row.app_id, row.created_at, row.revoked_at)
            for row in session.scalars(query)
        ]
