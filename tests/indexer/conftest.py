"""Indexer fixtures: a small real knowledge base (real SQLite) and generation folders."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from indexer.build import BuildReport, build_index
from indexer.components import DEFAULT_FILLERS
from indexer.embedding import Embedder
from indexer.glossary import DEFAULT_GLOSSARY, Glossary
from indexer.retriever import HybridRetriever
from indexer.store import GenerationStore
from indexer.textnorm import QueryFillers
from knowledge import migrate
from knowledge.db import make_engine, make_session_factory
from knowledge.importing import import_files
from tests.conftest import SMALL_KB
from tests.fakes import FakeEmbedder


@pytest.fixture(scope="session")
def small_kb_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Import :data:`SMALL_KB` once; tests get their own copy of the file."""
    path = tmp_path_factory.mktemp("small-kb") / "kb.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    import_files(make_session_factory(engine), SMALL_KB)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def kb_factory(tmp_path: Path, small_kb_file: Path) -> sessionmaker[Session]:
    """A migrated SQLite knowledge base holding :data:`SMALL_KB` (a private copy)."""
    path = tmp_path / "kb.sqlite3"
    shutil.copy(small_kb_file, path)
    return make_session_factory(make_engine(f"sqlite:///{path}"))


@pytest.fixture
def glossary() -> Glossary:
    return Glossary.load(DEFAULT_GLOSSARY)


@pytest.fixture
def gen_store(tmp_path: Path) -> GenerationStore:
    return GenerationStore(tmp_path / "index")


Builder = Callable[..., BuildReport]


@pytest.fixture
def build(
    kb_factory: sessionmaker[Session], gen_store: GenerationStore, glossary: Glossary
) -> Builder:
    """Build a generation of the small KB with a given embedder (fake by default)."""

    def run(embedder: Embedder | None = None, **kwargs: object) -> BuildReport:
        return build_index(
            factory=kb_factory,
            store=gen_store,
            embedder=embedder or FakeEmbedder(),
            glossary=glossary,
            glossary_sha256="test",
            **kwargs,  # type: ignore[arg-type]
        )

    return run


def make_retriever(
    store: GenerationStore, embedder: Embedder, glossary: Glossary
) -> HybridRetriever:
    return HybridRetriever(
        store=store,
        embedder=embedder,
        glossary=glossary,
        fillers=QueryFillers.load(DEFAULT_FILLERS),
    )
