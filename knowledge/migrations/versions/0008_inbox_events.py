"""inbox of platform events; the job queue's tables on PostgreSQL

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 09:40:00.000000

``inbox_events`` replaces ``processed_events``: the row that claims an event id now
also holds the event and the progress of its reply, so nothing acknowledged is lost.
On PostgreSQL the procrastinate job queue's schema is applied here too, so one
``tthc kb init`` prepares every table the web and worker processes need.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("chat_key", sa.String(length=255), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reply", sa.JSON(), nullable=True),
        sa.Column("parts_sent", sa.Integer(), nullable=False),
        sa.Column("in_flight", sa.Integer(), nullable=True),
        sa.Column("uncertain_parts", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_events")),
        sa.UniqueConstraint("key", name=op.f("uq_inbox_events_key")),
    )
    op.create_index(op.f("ix_inbox_events_status"), "inbox_events", ["status"])
    op.drop_table("processed_events")
    if op.get_bind().dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        bind = op.get_bind()
        exists = bind.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar()
        if exists is None:
            # psycopg gets the script as it is, without parameters, so neither its
            # "::jsonb" casts nor the "%" of its RAISE messages are read as placeholders.
            driver = bind.connection.driver_connection
            assert driver is not None
            driver.execute(SchemaManager.get_schema())


def downgrade() -> None:
    op.create_table(
        "processed_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processed_events")),
        sa.UniqueConstraint("key", name=op.f("uq_processed_events_key")),
    )
    op.drop_index(op.f("ix_inbox_events_status"), table_name="inbox_events")
    op.drop_table("inbox_events")
    if op.get_bind().dialect.name == "postgresql":
        _drop_job_queue_schema()


def _drop_job_queue_schema() -> None:
    """Drop every object the job queue's schema created (tables, functions, types)."""
    bind = op.get_bind()
    tables = bind.exec_driver_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "AND tablename LIKE 'procrastinate%%'"
    ).scalars()
    for table in list(tables):
        bind.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}" CASCADE')
    functions = bind.exec_driver_sql(
        "SELECT p.oid::regprocedure::text FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%%'"
    ).scalars()
    for function in list(functions):
        bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function} CASCADE")
    types = bind.exec_driver_sql(
        "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%%' "
        "AND t.typtype IN ('e', 'c')"
    ).scalars()
    for type_name in list(types):
        bind.exec_driver_sql(f'DROP TYPE IF EXISTS "{type_name}" CASCADE')
