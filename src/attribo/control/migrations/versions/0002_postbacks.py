"""Outgoing postbacks: per-network URL templates and the durable delivery log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the postback_templates and postback_deliveries tables."""
    op.create_table(
        "postback_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("network", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=128), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("method IN ('GET', 'POST')", name=op.f("ck_postback_templates_method")),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.app_id"], name=op.f("fk_postback_templates_app_id_apps")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postback_templates")),
    )
    with op.batch_alter_table("postback_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_postback_templates_app_id"), ["app_id"], unique=False)

    op.create_table(
        "postback_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("dedup_key", sa.String(length=96), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_http_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed', 'cancelled')",
            name=op.f("ck_postback_deliveries_status"),
        ),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.app_id"], name=op.f("fk_postback_deliveries_app_id_apps")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["postback_templates.id"],
            name=op.f("fk_postback_deliveries_template_id_postback_templates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postback_deliveries")),
    )
    with op.batch_alter_table("postback_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_postback_deliveries_app_id"), ["app_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_postback_deliveries_dedup_key"), ["dedup_key"], unique=True
        )
        batch_op.create_index(
            "ix_postback_deliveries_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_postback_deliveries_template_id"), ["template_id"], unique=False
        )


def downgrade() -> None:
    """Drop everything the upgrade created."""
    with op.batch_alter_table("postback_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_postback_deliveries_template_id"))
        batch_op.drop_index("ix_postback_deliveries_due")
        batch_op.drop_index(batch_op.f("ix_postback_deliveries_dedup_key"))
        batch_op.drop_index(batch_op.f("ix_postback_deliveries_app_id"))

    op.drop_table("postback_deliveries")
    with op.batch_alter_table("postback_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_postback_templates_app_id"))

    op.drop_table("postback_templates")
