"""conversation record columns on answer_exchanges; counted online-service links

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("answer_exchanges") as batch:
        batch.add_column(
            sa.Column("intent", sa.String(length=32), server_default="", nullable=False)
        )
        batch.add_column(sa.Column("procedures", sa.JSON(), server_default="[]", nullable=False))
        batch.add_column(sa.Column("fields", sa.JSON(), server_default="[]", nullable=False))
        batch.add_column(
            sa.Column("promoted", sa.String(length=16), server_default="", nullable=False)
        )
        batch.add_column(sa.Column("latency_ms", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(
            sa.Column("handoff", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_index("ix_answer_exchanges_at", "answer_exchanges", ["at"])
    op.create_table(
        "promo_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("procedure_code", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("target_url", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_links")),
        sa.UniqueConstraint("token", name=op.f("uq_promo_links_token")),
        sa.UniqueConstraint(
            "procedure_code", "channel", "target_url", name=op.f("uq_promo_links_procedure_code")
        ),
    )
    op.create_table(
        "promo_clicks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["promo_links.id"],
            name=op.f("fk_promo_clicks_link_id_promo_links"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_clicks")),
    )
    op.create_index(op.f("ix_promo_clicks_link_id"), "promo_clicks", ["link_id"])
    op.create_index(op.f("ix_promo_clicks_at"), "promo_clicks", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_promo_clicks_at"), table_name="promo_clicks")
    op.drop_index(op.f("ix_promo_clicks_link_id"), table_name="promo_clicks")
    op.drop_table("promo_clicks")
    op.drop_table("promo_links")
    op.drop_index("ix_answer_exchanges_at", table_name="answer_exchanges")
    with op.batch_alter_table("answer_exchanges") as batch:
        for name in ("handoff", "latency_ms", "promoted", "fields", "procedures", "intent"):
            batch.drop_column(name)
