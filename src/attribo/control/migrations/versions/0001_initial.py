"""Initial control-plane schema: apps, API keys, tracking links.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the apps, api_keys and links tables."""
    op.create_table(
        "apps",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("store_url_ios", sa.Text(), nullable=True),
        sa.Column("store_url_android", sa.Text(), nullable=True),
        sa.Column("signing_secret", sa.String(length=128), nullable=False),
        sa.Column("settings", sa.Text(), server_default="{}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(app_id) BETWEEN 1 AND 64", name=op.f("ck_apps_app_id_length")),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_apps")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=8), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('admin', 'analyst', 'ingest')", name=op.f("ck_api_keys_role")),
        sa.CheckConstraint("role = 'admin' OR app_id IS NOT NULL", name=op.f("ck_api_keys_scope")),
        sa.ForeignKeyConstraint(["app_id"], ["apps.app_id"], name=op.f("fk_api_keys_app_id_apps")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_app_id"), ["app_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_api_keys_key_hash"), ["key_hash"], unique=True)

    op.create_table(
        "links",
        sa.Column("link_id", sa.String(length=16), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("network", sa.Text(), nullable=False),
        sa.Column("campaign", sa.Text(), nullable=True),
        sa.Column("adset", sa.Text(), nullable=True),
        sa.Column("ad", sa.Text(), nullable=True),
        sa.Column("retargeting", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("deep_link", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.app_id"], name=op.f("fk_links_app_id_apps")),
        sa.PrimaryKeyConstraint("link_id", name=op.f("pk_links")),
    )
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_links_app_id"), ["app_id"], unique=False)


def downgrade() -> None:
    """Drop everything the upgrade created."""
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_links_app_id"))
    op.drop_table("links")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_key_hash"))
        batch_op.drop_index(batch_op.f("ix_api_keys_app_id"))
    op.drop_table("api_keys")
    op.drop_table("apps")
