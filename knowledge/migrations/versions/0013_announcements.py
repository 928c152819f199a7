"""announcements to subscribers and their per-recipient deliveries; opt-in source

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 19:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(
            sa.Column("source", sa.String(length=16), server_default="command", nullable=False)
        )
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("audience", sa.String(length=32), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    op.create_index("ix_announcements_due", "announcements", ["state", "scheduled_at"])
    op.create_table(
        "announcement_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=255), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_announcement_deliveries_announcement_id_announcements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcement_deliveries")),
        sa.UniqueConstraint(
            "announcement_id", "channel", "user_id", name="uq_announcement_deliveries_recipient"
        ),
    )
    op.create_index(
        "ix_announcement_deliveries_state",
        "announcement_deliveries",
        ["announcement_id", "state"],
    )


def downgrade() -> None:
    op.drop_index("ix_announcement_deliveries_state", table_name="announcement_deliveries")
    op.drop_table("announcement_deliveries")
    op.drop_index("ix_announcements_due", table_name="announcements")
    op.drop_table("announcements")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("source")
