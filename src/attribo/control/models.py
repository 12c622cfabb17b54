"""ORM models of the control plane; the Alembic migrations must match them exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names keep migrations portable (SQLite batch mode, PostgreSQL ALTERs).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime (the only kind stored)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamp that is always aware UTC in Python, even on SQLite which drops the zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes and normalise aware ones to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; control-plane timestamps must be aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return stored values as aware UTC whatever the backend handed back."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base sharing one metadata (with naming convention) for all control tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class App(Base):
    """A mobile app whose events attribo collects and attributes."""

    __tablename__ = "apps"
    __table_args__ = (CheckConstraint("length(app_id) BETWEEN 1 AND 64", name="app_id_length"),)

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    store_url_ios: Mapped[str | None] = mapped_column(Text)
    store_url_android: Mapped[str | None] = mapped_column(Text)
    signing_secret: Mapped[str] = mapped_column(String(128))
    settings: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """A hashed API key; app-less keys are installation-wide and only allowed for admins."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'analyst', 'ingest')", name="role"),
        CheckConstraint("role = 'admin' OR app_id IS NOT NULL", name="scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    prefix: Mapped[str] = mapped_column(String(8))
    role: Mapped[str] = mapped_column(String(16))
    app_id: Mapped[str | None] = mapped_column(ForeignKey("apps.app_id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class Link(Base):
    """A tracking link handed to an ad network; immutable once created."""

    __tablename__ = "links"

    link_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.app_id"), index=True)
    network: Mapped[str] = mapped_column(Text)
    campaign: Mapped[str | None] = mapped_column(Text)
    adset: Mapped[str | None] = mapped_column(Text)
    ad: Mapped[str | None] = mapped_column(Text)
    retargeting: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    deep_link: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PostbackTemplate(Base):
    """A network's URL template for outgoing postbacks of one app and one event kind."""

    __tablename__ = "postback_templates"
    __table_args__ = (CheckConstraint("method IN ('GET', 'POST')", name="method"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.app_id"), index=True)
    network: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(128))
    url: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(8))
    body: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Soft delete: the delivery log keeps pointing at templates that were removed.
    deleted_at: Mapped[datetime | None]


class PostbackDelivery(Base):
    """One rendered postback and its delivery state; the durable queue of the dispatcher."""

    __tablename__ = "postback_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed', 'cancelled')", name="status"),
        Index("ix_postback_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.app_id"), index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("postback_templates.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(64))
    dedup_key: Mapped[str] = mapped_column(String(96), unique=True, index=True)
    method: Mapped[str] = mapped_column(String(8))
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_http_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AuditEntry(Base):
    """One management action: who (key display prefix and role) did what to which app."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_app_id_id", "app_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_prefix: Mapped[str | None] = mapped_column(String(8))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), index=True)
    # No foreign key: the log must outlive and never constrain what it describes.
    app_id: Mapped[str | None] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
