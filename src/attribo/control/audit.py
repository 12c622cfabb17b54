"""The audit log: who did which management action, kept in the control DB next to what changed.

The HTTP layer records each successful management action with the caller's key; only the key's
display prefix is stored (as in `api_keys.prefix`), never the key, and details that look like a
plaintext key are refused so a careless caller cannot leak one into the log.
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from attribo.control.keys import DISPLAY_PREFIX_LEN, KEY_PREFIX, ROLES, display_prefix
from attribo.control.models import AuditEntry, utcnow

# The actions the API records; other `noun.verb` names are accepted for new endpoints.
ACTIONS: Final = (
    "app.create",
    "link.create",
    "key.create",
    "key.revoke",
    "postback.create",
    "postback.delete",
    "settings.update",
)
LIST_LIMIT_MAX: Final = 1000
_ACTION = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")
_ACTION_MAX = 64
_APP_ID_MAX = 64
_TARGET_MAX = 128


@dataclass(frozen=True, slots=True)
class AuditInfo:
    """One audit-log row, detached from the database."""

    id: int
    at: datetime
    actor_prefix: str | None
    actor_role: str | None
    action: str
    app_id: str | None
    target_id: str | None
    details: dict[str, Any]


def _audit_info(row: AuditEntry) -> AuditInfo:
    """Convert an ORM row into the public, immutable view."""
    return AuditInfo(
        id=row.id,
        at=row.at,
        actor_prefix=row.actor_prefix,
        actor_role=row.actor_role,
        action=row.action,
        app_id=row.app_id,
        target_id=row.target_id,
        details=json.loads(row.details),
    )


def _holds_a_key(value: object) -> bool:
    """Whether a JSON value contains a string that looks like a whole plaintext API key."""
    if isinstance(value, str):
        return value.startswith(KEY_PREFIX) and len(value) > DISPLAY_PREFIX_LEN
    if isinstance(value, Mapping):
        return any(_holds_a_key(k) or _holds_a_key(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_a_key(v) for v in value)
    return False


class AuditRepository:
    """Append and read the audit log; thread-safe like `ControlPlane` (a session per call)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        """Share the control plane's session factory; reach it via `ControlPlane.audit`."""
        self._sessions = sessions

    def record(
        self,
        action: str,
        *,
        actor_key: str | None,
        actor_role: str | None,
        app_id: str | None = None,
        target_id: str | int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditInfo:
        """Append one entry for an action that succeeded.

        Args:
            action: `noun.verb`, one of `ACTIONS` for the standard endpoints.
            actor_key: the caller's plaintext key; only its display prefix is stored.
                None for actions taken without a key (the CLI).
            actor_role: the caller's role, None with no key.
            app_id: the app acted on; None for installation-wide actions.
            target_id: what was acted on (link id, template id, key prefix...).
            details: JSON-serialisable context; plaintext API keys are refused.
        """
        if len(action) > _ACTION_MAX or not _ACTION.fullmatch(action):
            raise ValueError(f"action must look like 'noun.verb' (e.g. app.create), got {action!r}")
        if actor_role is not None and actor_role not in ROLES:
            raise ValueError(f"unknown role {actor_role!r}; expected one of {sorted(ROLES)}")
        if app_id is not None and not 1 <= len(app_id) <= _APP_ID_MAX:
            raise ValueError(f"app_id must be 1-{_APP_ID_MAX} characters")
        target = None if target_id is None else str(target_id)
        if target is not None and len(target) > _TARGET_MAX:
            raise ValueError(f"target_id must be at most {_TARGET_MAX} characters")
        payload = dict(details or {})
        if _holds_a_key(payload):
            raise ValueError("details must not contain a plaintext API key")
        row = AuditEntry(
            at=utcnow(),
            actor_prefix=None if actor_key is None else display_prefix(actor_key),
            actor_role=actor_role,
            action=action,
            app_id=app_id,
            target_id=target,
            details=json.dumps(payload, sort_keys=True),
        )
        with self._sessions() as session, session.begin():
            session.add(row)
            session.flush()
            return _audit_info(row)

    def list(
        self, app_id: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> builtins.list[AuditInfo]:
        """Entries newest first, of one app (None: every entry) and at or after `since`."""
        if not 1 <= limit <= LIST_LIMIT_MAX:
            raise ValueError(f"limit must be from 1 to {LIST_LIMIT_MAX}")
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be an aware datetime")
        query = select(AuditEntry)
        if app_id is not None:
            query = query.where(AuditEntry.app_id == app_id)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        query = query.order_by(AuditEntry.id.desc()).limit(limit)
        with self._sessions() as session:
            return [_audit_info(row) for row in session.scalars(query)]
