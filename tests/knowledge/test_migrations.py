"""Alembic migrations up and down, and the models never drift from them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from knowledge import migrate
from knowledge.db import make_engine
from knowledge.models import Base

TABLES = {
    "procedures",
    "procedure_channels",
    "channel_fees",
    "procedure_documents",
    "legal_bases",
    "hotlines",
    "plan_documents",
    "faqs",
    "revisions",
}


def test_up_down_up(db_url: str) -> None:
    engine: Engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        assert set(inspect(engine).get_table_names()) >= TABLES
        migrate.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(engine)
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_models_match_migrations(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        with engine.connect() as conn:
            options = {"compare_type": True, "include_name": migrate.include_name}
            ctx = MigrationContext.configure(conn, opts=options)
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        engine.dispose()
