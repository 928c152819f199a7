"""fee currency, meaning and validity

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 06:40:00.000000

A fee keeps its currency ("5 USD" is not "5 đồng"), what its number means (free by
law, set elsewhere, a temporary reduced rate) and the dates its note gives. Existing
rows are back-filled from what they already say: a 0 was stored only for "free", a
NULL for "no number"; ``tthc kb import`` re-reads the notes for the rest.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_fees", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("currency", sa.String(length=8), server_default="VND", nullable=False)
        )
        batch_op.add_column(sa.Column("foreign_amount", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("meaning", sa.String(length=16), server_default="amount", nullable=False)
        )
        batch_op.add_column(sa.Column("set_by", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("valid_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("valid_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("base_vnd", sa.BigInteger(), nullable=True))
    op.execute("UPDATE channel_fees SET meaning = 'free' WHERE amount_vnd = 0")
    op.execute("UPDATE channel_fees SET meaning = 'unknown' WHERE amount_vnd IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("channel_fees", schema=None) as batch_op:
        batch_op.drop_column("base_vnd")
        batch_op.drop_column("valid_until")
        batch_op.drop_column("valid_from")
        batch_op.drop_column("set_by")
        batch_op.drop_column("meaning")
        batch_op.drop_column("foreign_amount")
        batch_op.drop_column("currency")
