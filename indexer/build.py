"""Build a generation from the published records of the knowledge base.

Incremental by default: records whose newest revision is older than the previous
generation are copied from it instead of being read again, and every passage whose
text was embedded before comes from the vector cache. ``full=True`` re-reads every
record (vectors still come from the content-addressed cache, which is exact).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from indexer.accents import AccentRestorer
from indexer.chunking import Chunk, faq_chunks, hotline_chunks, plan_chunks, procedure_chunks
from indexer.dense import DenseIndex, stable_id
from indexer.embedding import Embedder
from indexer.families import build_profiles
from indexer.glossary import Glossary
from indexer.integrity import checksums, verify
from indexer.keyword import KeywordIndex
from indexer.store import (
    ACCENTS,
    DENSE,
    DENSE_FOLDED,
    FORMAT_VERSION,
    GLOSSARY,
    KEYWORD,
    KEYWORD_TITLES,
    PROFILES,
    STORE,
    TITLE_POSITIONS,
    ChunkStore,
    GenerationError,
    GenerationStore,
    Manifest,
    utc_now,
)
from indexer.textnorm import fold, keyword_terms
from indexer.vector_cache import VectorCache
from knowledge.codec import RecordKind, record_key, to_json
from knowledge.db import transaction
from knowledge.repository import KnowledgeRepository

INDEXED_KINDS: tuple[RecordKind, ...] = ("procedure", "faq", "plan", "hotline")
#: Above this many changed records, reading them all in one query is faster.
_BULK_READ = 300

ProgressFactory = Callable[[int, str], Any]

logger = logging.getLogger(__name__)


@dataclass
class BuildReport:
    """What a build did."""

    generation: Path
    records: int
    chunks: int
    dense_vectors: int
    embedded: int
    records_read: int
    records_reused: int
    knowledge_revision: int
    seconds: float


def _record_chunks(
    kind: str, key: str, data: dict[str, Any], revision: int, glossary: Glossary
) -> list[Chunk]:
    if kind == "procedure":
        return list(procedure_chunks(data, revision, glossary))
    if kind == "faq":
        return list(faq_chunks(data, revision))
    if kind == "plan":
        return list(plan_chunks(data, key, revision))
    return list(hotline_chunks(data, key, revision))


def is_title_chunk(chunk: Chunk) -> bool:
    """Chunks that name a record (a procedure's header, a FAQ, a plan section, a hotline).

    A second keyword index over these alone keeps a word in some long document list
    from outweighing the same word in a procedure's name.
    """
    return chunk.kind != "procedure" or chunk.field == "header"


def _title(kind: str, data: dict[str, Any]) -> str:
    return str(data.get("name") or data.get("title") or data.get("question") or "")


def _collect_records(
    factory: sessionmaker[Session], previous: Path | None, manifest: Manifest | None
) -> tuple[dict[tuple[str, str], tuple[int, dict[str, Any]]], int, int, set[tuple[str, str]]]:
    """Published records with their revisions; unchanged ones copied from ``previous``
    (their keys are returned last)."""
    records: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    read = 0
    reused: set[tuple[str, str]] = set()
    with transaction(factory) as session:
        repo = KnowledgeRepository(session)
        knowledge_revision = repo.max_revision()
        old: dict[tuple[str, str], Any] = {}
        old_revs: dict[tuple[str, str], int] = {}
        since = manifest.knowledge_revision if manifest is not None else -1
        if previous is not None and manifest is not None:
            old_store = ChunkStore(previous / STORE)
            old_revs = old_store.revisions()
            keep = [k for k, r in old_revs.items() if r <= since]
            old = old_store.records_data(keep)
            old_store.close()
        for kind in INDEXED_KINDS:
            latest = repo.latest_revisions(kind)
            changed = [key for key, rev in latest.items() if rev > since]
            for key, rev in latest.items():
                if rev <= since and (kind, key) in old:
                    records[(kind, key)] = (rev, old[(kind, key)])
                    reused.add((kind, key))
            if len(changed) > _BULK_READ:
                wanted = set(changed)
                items = [
                    (record_key(r), to_json(r))
                    for r in repo.iter_records(kind)
                    if record_key(r) in wanted
                ]
            else:
                items = [(key, to_json(repo.get(kind, key))) for key in changed]
            for key, data in items:
                read += 1
                if data.get("status") == "published":
                    records[(kind, key)] = (latest[key], data)
    return records, knowledge_revision, read, reused


def build_index(
    *,
    factory: sessionmaker[Session],
    store: GenerationStore,
    embedder: Embedder,
    glossary: Glossary,
    glossary_sha256: str,
    full: bool = False,
    folded_dense: bool = False,
    progress: ProgressFactory | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> BuildReport:
    """Write a new generation and switch ``current`` to it; raise on any failure.

    ``on_stage`` is told each stage as it starts: ``records`` (read from the
    database), ``chunks``, ``embedding`` (then ``progress`` counts passages),
    ``writing`` (FAISS, keyword indexes, store, checksums), ``switching``.
    """
    started = time.perf_counter()
    stage = on_stage or (lambda _name: None)
    stage("records")
    previous = None if full else store.current()
    manifest: Manifest | None = None
    if previous is not None:
        try:
            manifest = Manifest.read(previous)
            verify(previous, manifest.files)
        except GenerationError as exc:
            # A damaged previous generation must not be copied from: read everything.
            logger.warning("not reusing %s: %s", previous.name, exc)
            previous, manifest = None, None
        if manifest is not None and (
            manifest.model_id != embedder.model_id or manifest.glossary_sha256 != glossary_sha256
        ):
            previous, manifest = None, None  # other model or glossary: rebuild everything
    records, knowledge_revision, read, reused = _collect_records(factory, previous, manifest)
    # One order whatever was reused: an incremental build writes the same files as a full one.
    records = dict(sorted(records.items()))

    stage("chunks")
    # Chunking is a function of (record, revision, glossary) alone, and the glossary is
    # the previous generation's (checked above): the chunks of a record that was not
    # read again are the previous generation's, and chunking every record (the glossary
    # aliases of 5,000+ procedures) was a third of an incremental build.
    old_chunks: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    if previous is not None and reused:
        old_store = ChunkStore(previous / STORE)
        old_chunks = old_store.chunks_by_record(reused)
        old_store.close()
    chunks: list[Chunk] = []
    for (kind, key), (revision, data) in records.items():
        stored = old_chunks.get((kind, key))
        if stored is not None:
            chunks.extend(Chunk(*row) for row in stored)
        else:
            chunks.extend(_record_chunks(kind, key, data, revision, glossary))
    dense_chunks = [c for c in chunks if c.dense_text]
    stage("embedding")
    cache = VectorCache(store.vector_cache_path)
    try:
        texts = [c.dense_text for c in dense_chunks]
        roles = [("passage", texts)]
        if folded_dense:
            roles.append(("passage-folded", [fold(t) for t in texts]))
        vectors: dict[str, np.ndarray[Any, Any]] = {}
        embedded = 0
        for role, role_texts in roles:
            bar = progress(len(role_texts), f"Nhúng vector ({role})") if progress else None
            vectors[role], new = cache.embed(
                role_texts,
                model_id=embedder.model_id,
                dimension=embedder.dimension,
                role=role,
                compute=embedder.embed_passages,
                on_progress=(bar.update if bar is not None else None),
            )
            if bar is not None:
                bar.close()
            embedded += new
    finally:
        cache.close()

    stage("writing")
    ids = np.array([stable_id(c.chunk_id) for c in dense_chunks], dtype=np.int64)
    with store.new_generation() as folder:
        DenseIndex.build(vectors["passage"], ids).save(folder / DENSE)
        if folded_dense:
            DenseIndex.build(vectors["passage-folded"], ids).save(folder / DENSE_FOLDED)
        keyword_dir = folder / KEYWORD
        keyword_dir.mkdir()
        terms = [keyword_terms(c.text) for c in chunks]
        KeywordIndex.build_from_terms(terms).save(keyword_dir)
        titles = np.array([i for i, c in enumerate(chunks) if is_title_chunk(c)], dtype=np.int64)
        (folder / KEYWORD_TITLES).mkdir()
        KeywordIndex.build_from_terms([terms[i] for i in titles]).save(folder / KEYWORD_TITLES)
        np.save(folder / TITLE_POSITIONS, titles)
        AccentRestorer.from_texts(
            [c.dense_text for c in dense_chunks] + [c.text for c in chunks if is_title_chunk(c)]
        ).save(folder / ACCENTS)
        build_profiles({key: data for key, (_rev, data) in records.items()}).save(
            folder / PROFILES
        )
        (folder / GLOSSARY).write_text(glossary.to_tsv(), "utf-8")
        chunk_store = ChunkStore.create(folder / STORE)
        chunk_store.add_records(
            (kind, key, _title(kind, data), revision, data)
            for (kind, key), (revision, data) in records.items()
        )
        chunk_store.add_chunks(
            (
                pos,
                c.chunk_id,
                stable_id(c.chunk_id),
                c.kind,
                c.record_id,
                c.title,
                c.field,
                c.revision,
                c.text,
                c.dense_text,
            )
            for pos, c in enumerate(chunks)
        )
        chunk_store.close()
        by_kind: dict[str, int] = {}
        for kind, _key in records:
            by_kind[kind] = by_kind.get(kind, 0) + 1
        Manifest(
            format_version=FORMAT_VERSION,
            model_id=embedder.model_id,
            dimension=embedder.dimension,
            prompts=embedder.prompts,
            created_at=utc_now(),
            knowledge_revision=knowledge_revision,
            counts={
                "records": len(records),
                "records_by_kind": by_kind,
                "chunks": len(chunks),
                "dense_vectors": len(dense_chunks),
            },
            folded_dense=folded_dense,
            glossary_sha256=glossary_sha256,
            files=checksums(folder),
        ).write(folder)
        stage("switching")
    generation = store.current()
    assert generation is not None
    store.prune()
    return BuildReport(
        generation=generation,
        records=len(records),
        chunks=len(chunks),
        dense_vectors=len(dense_chunks),
        embedded=embedded,
        records_read=read,
        records_reused=len(reused),
        knowledge_revision=knowledge_revision,
        seconds=time.perf_counter() - started,
    )
