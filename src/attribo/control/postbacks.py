"""Postback templates and the delivery log, kept in the control DB so deliveries survive restarts.

The delivery table doubles as the dispatcher's queue: a row is claimed by a conditional UPDATE
on its attempt counter, so several server processes sharing one PostgreSQL never send the same
attempt twice, and a process that dies mid-attempt leaves a lease that simply expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from attribo.control.errors import UnknownApp
from attribo.control.models import App, PostbackDelivery, PostbackTemplate, utcnow

METHODS: Final = ("GET", "POST")
STATUSES: Final = ("pending", "delivered", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class PostbackTemplateInfo:
    """A postback template, detached from the database."""

    id: int
    app_id: str
    network: str
    event: str
    url: str
    method: str
    body: str | None
    enabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A rendered postback ready to be queued; `dedup_key` makes queueing idempotent."""

    app_id: str
    template_id: int
    event_id: str
    dedup_key: str
    method: str
    url: str
    body: str | None


@dataclass(frozen=True, slots=True)
class DeliveryInfo:
    """One row of the delivery log, detached from the database."""

    id: int
    app_id: str
    template_id: int
    event_id: str
    dedup_key: str
    method: str
    url: str
    body: str | None
    status: str
    attempts: int
    last_http_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime


def _template_info(row: PostbackTemplate) -> PostbackTemplateInfo:
    """Convert an ORM row into the public, immutable view."""
    return PostbackTemplateInfo(
        id=row.id,
        app_id=row.app_id,
        network=row.network,
        event=row.event,
        url=row.url,
        method=row.method,
        body=row.body,
        enabled=row.enabled,
        created_at=row.created_at,
    )


def _delivery_info(row: PostbackDelivery) -> DeliveryInfo:
    """Convert an ORM row into the public, immutable view."""
    return DeliveryInfo(
        id=row.id,
        app_id=row.app_id,
        template_id=row.template_id,
        event_id=row.event_id,
        dedup_key=row.dedup_key,
        method=row.method,
        url=row.url,
        body=row.body,
        status=row.status,
        attempts=row.attempts,
        last_http_status=row.last_http_status,
        last_error=row.last_error,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class PostbackRepository:
    """Templates and delivery log; thread-safe like `ControlPlane` (a session per call)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        """Share the control plane's session factory; reach it via `ControlPlane.postbacks`."""
        self._sessions = sessions

    # Templates

    def create_template(
        self,
        app_id: str,
        network: str,
        event: str,
        url: str,
        method: str = "GET",
        body: str | None = None,
        enabled: bool = True,
    ) -> PostbackTemplateInfo:
        """Store a template (already validated by the caller) for an existing app."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
        if not network or not event:
            raise ValueError("network and event are required")
        row = PostbackTemplate(
            app_id=app_id,
            network=network,
            event=event,
            url=url,
            method=method,
            body=body,
            enabled=enabled,
        )
        with self._sessions() as session, session.begin():
            if session.get(App, app_id) is None:
                raise UnknownApp(app_id)
            session.add(row)
            session.flush()
            return _template_info(row)

    def get_template(self, template_id: int) -> PostbackTemplateInfo | None:
        """Return a live (not deleted) template, or None."""
        with self._sessions() as session:
            row = session.get(PostbackTemplate, template_id)
            return None if row is None or row.deleted_at is not None else _template_info(row)

    def list_templates(self, app_id: str) -> list[PostbackTemplateInfo]:
        """Return the app's live templates, oldest first."""
        query = (
            select(PostbackTemplate)
            .where(PostbackTemplate.app_id == app_id, PostbackTemplate.deleted_at.is_(None))
            .order_by(PostbackTemplate.id)
        )
        with self._sessions() as session:
            return [_template_info(row) for row in session.scalars(query)]

    def matching_templates(
        self, app_id: str, network: str, event: str
    ) -> list[PostbackTemplateInfo]:
        """Return the enabled, live templates for this app, network and event kind."""
        query = (
            select(PostbackTemplate)
            .where(
                PostbackTemplate.app_id == app_id,
                PostbackTemplate.network == network,
                PostbackTemplate.event == event,
                PostbackTemplate.enabled.is_(True),
                PostbackTemplate.deleted_at.is_(None),
            )
            .order_by(PostbackTemplate.id)
        )
        with self._sessions() as session:
            return [_template_info(row) for row in session.scalars(query)]

    def delete_template(self, template_id: int) -> bool:
        """Soft-delete a template and cancel its pending deliveries; False if not live."""
        now = utcnow()
        with self._sessions() as session, session.begin():
            row = session.get(PostbackTemplate, template_id)
            if row is None or row.deleted_at is not None:
                return False
            row.deleted_at = now
            session.execute(
                update(PostbackDelivery)
                .where(
                    PostbackDelivery.template_id == template_id,
                    PostbackDelivery.status == "pending",
                )
                .values(status="cancelled", next_attempt_at=None, updated_at=now)
            )
        return True

    # Delivery log

    def enqueue(self, deliveries: list[NewDelivery]) -> list[int]:
        """Insert deliveries due now, skipping dedup keys already queued; return the new ids."""
        created: list[int] = []
        for new in deliveries:
            now = utcnow()
            row = PostbackDelivery(
                app_id=new.app_id,
                template_id=new.template_id,
                event_id=new.event_id,
                dedup_key=new.dedup_key,
                method=new.method,
                url=new.url,
                body=new.body,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
            try:
                with self._sessions() as session, session.begin():
                    exists = session.scalar(
                        select(PostbackDelivery.id).where(
                            PostbackDelivery.dedup_key == new.dedup_key
                        )
                    )
                    if exists is not None:
                        continue
                    session.add(row)
                    session.flush()
                    created.append(row.id)
            except IntegrityError:
                continue  # a concurrent submit of the same event won the race: already queued
        return created

    def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[DeliveryInfo]:
        """Claim up to `limit` due deliveries: bump attempts, push their due time to the lease."""
        if limit <= 0:
            return []
        query = (
            select(PostbackDelivery.id, PostbackDelivery.attempts)
            .where(PostbackDelivery.status == "pending", PostbackDelivery.next_attempt_at <= now)
            .order_by(PostbackDelivery.next_attempt_at, PostbackDelivery.id)
            .limit(limit)
        )
        claimed: list[DeliveryInfo] = []
        with self._sessions() as session:
            candidates = session.execute(query).all()
        for delivery_id, attempts in candidates:
            with self._sessions() as session, session.begin():
                result = session.execute(
                    update(PostbackDelivery)
                    .where(
                        PostbackDelivery.id == delivery_id,
                        PostbackDelivery.status == "pending",
                        PostbackDelivery.attempts == attempts,
                    )
                    .values(attempts=attempts + 1, next_attempt_at=lease_until, updated_at=now)
                )
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    continue  # another dispatcher claimed it first
                row = session.get(PostbackDelivery, delivery_id)
                assert row is not None
                claimed.append(_delivery_info(row))
        return claimed

    def record_attempt(
        self,
        delivery_id: int,
        attempt: int,
        status: str,
        http_status: int | None,
        error: str | None,
        next_attempt_at: datetime | None,
    ) -> bool:
        """Store the outcome of claimed attempt `attempt`; False if the claim was lost."""
        if status not in STATUSES:
            raise ValueError(f"unknown delivery status {status!r}")
        with self._sessions() as session, session.begin():
            result = session.execute(
                update(PostbackDelivery)
                .where(
                    PostbackDelivery.id == delivery_id,
                    PostbackDelivery.status == "pending",
                    PostbackDelivery.attempts == attempt,
                )
                .values(
                    status=status,
                    last_http_status=http_status,
                    last_error=error,
                    next_attempt_at=next_attempt_at,
                    updated_at=utcnow(),
                )
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def release(self, delivery_id: int, attempt: int) -> None:
        """Give back a claim whose attempt never ran (shutdown), so it is due again at once."""
        now = utcnow()
        with self._sessions() as session, session.begin():
            session.execute(
                update(PostbackDelivery)
                .where(
                    PostbackDelivery.id == delivery_id,
                    PostbackDelivery.status == "pending",
                    PostbackDelivery.attempts == attempt,
                )
                .values(attempts=attempt - 1, next_attempt_at=now, updated_at=now)
            )

    def next_due_at(self) -> datetime | None:
        """When the earliest pending delivery falls due (None when nothing is pending)."""
        with self._sessions() as session:
            value = session.scalar(
                select(func.min(PostbackDelivery.next_attempt_at)).where(
                    PostbackDelivery.status == "pending"
                )
            )
        if value is None:
            return None
        # Aggregates bypass the column type on SQLite, so parse what the driver hands back.
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)

    def get_delivery(self, delivery_id: int) -> DeliveryInfo | None:
        """Return one delivery, or None."""
        with self._sessions() as session:
            row = session.get(PostbackDelivery, delivery_id)
            return None if row is None else _delivery_info(row)

    def list_deliveries(
        self, app_id: str, status: str | None = None, limit: int = 100
    ) -> list[DeliveryInfo]:
        """Return the app's deliveries, newest first, optionally of one status."""
        query = select(PostbackDelivery).where(PostbackDelivery.app_id == app_id)
        if status is not None:
            query = query.where(PostbackDelivery.status == status)
        query = query.order_by(PostbackDelivery.id.desc()).limit(limit)
        with self._sessions() as session:
            return [_delivery_info(row) for row in session.scalars(query)]
